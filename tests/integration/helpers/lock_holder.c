// Test helper for cr_container_locks.sh, compiled static by the test. `lock_holder hold FILE`
// takes an flock on FILE and a POSIX write lock on its first byte, then sleeps.
// `lock_holder probe FILE` exits 0 if both locks are held by someone else (non-blocking tries
// fail with EWOULDBLOCK/EAGAIN), 1 if either could be taken.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    if (argc != 3)
        return 2;
    int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return 2;
    struct flock range = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    if (strcmp(argv[1], "hold") == 0) {
        if (flock(fd, LOCK_EX) != 0 || fcntl(fd, F_SETLK, &range) != 0)
            return 3;
        for (;;)
            pause();
    }
    int flock_busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    int posix_busy = fcntl(fd, F_SETLK, &range) != 0 && (errno == EAGAIN || errno == EACCES);
    printf("flock %s, posix %s\n", flock_busy ? "held" : "free", posix_busy ? "held" : "free");
    return flock_busy && posix_busy ? 0 : 1;
}
