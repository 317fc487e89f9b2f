// libfmt compiled into cryo instead of linked from libfmt.so: the shared library (and the
// libstdc++.so it drags in) cost about 1.3 MiB of resident memory per `cryo run`, more than
// the code cryo uses from it. This is the one translation unit that holds fmt's non-inline
// functions (format-inl.h) and the explicit instantiations format.h declares `extern`.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template FMT_API locale_ref::locale_ref(std::locale const& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void buffer<char>::append(char const*, char const*);
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
template FMT_API void buffer<wchar_t>::append(wchar_t const*, wchar_t const*);

} // namespace detail
FMT_END_NAMESPACE
