# cryo_strip_sanitizer_flags(): removes the -fsanitize/-fno-sanitize options that the top
# level adds in a -DCRYO_SANITIZE=ON build from the calling directory's compile and link
# options, so the targets defined after the call (in that directory and below) build without
# the sanitizers. For binaries that cannot or must not carry the sanitizer runtime: static
# ones (ASan refuses -static) and the workloads that tests/cr dumps.
function(cryo_strip_sanitizer_flags)
  foreach(property COMPILE_OPTIONS LINK_OPTIONS)
    get_directory_property(options ${property})
    list(FILTER options EXCLUDE REGEX "^-f(no-)?sanitize")
    set_directory_properties(PROPERTIES ${property} "${options}")
  endforeach()
endfunction()
