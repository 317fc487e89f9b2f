# task_lib.bash: the former shared steps of the task-state tests, now all in lib.sh (start,
# dump_restore, verify, gone, fail/ok); kept so that a test that sources it still works.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
