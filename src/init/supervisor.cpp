// System-container mode (see supervisor.h): a loop over one signal wait. SIGCHLD reaps,
// a deadline starts a service due for restart, a shutdown signal stops everything in
// reverse start order, any other signal goes to every running service's process group.
#include "init/supervisor.h"

#include <algorithm>
#include <sys/wait.h>

#include "init/process.h"

namespace cryo::init {

namespace {

struct Service {
    ServiceSpec const* spec;
    pid_t pid { 0 }; // running main process (its pid is also its process group and session)
    Clock::time_point started {};
    unsigned failures { 0 }; // consecutive quick restarts, for the backoff
    std::optional<Clock::time_point> restart_at {};
    std::optional<int> last_status {};
};

long long millis(Clock::duration d)
{
    return std::chrono::duration_cast<Millis>(d).count();
}

class Supervisor {
public:
    Supervisor(std::vector<ServiceSpec> const& specs, sigset_t const& signals)
        : m_signals(signals)
    {
        for (auto const& spec : specs)
            m_services.push_back(Service { .spec = &spec });
    }

    int run()
    {
        for (auto& service : m_services)
            start(service);
        for (;;) {
            int signal = next_signal(m_signals, next_restart());
            handle_exits();
            if (signal == SIGTERM || signal == SIGINT || signal == SIGPWR) {
                say("received SIG%s: stopping %zu service(s)", signal_name(signal), running_count());
                return shutdown();
            }
            if (signal > 0 && signal != SIGCHLD)
                forward(signal);
            auto now = Clock::now();
            for (auto& service : m_services)
                if (service.restart_at && *service.restart_at <= now)
                    start(service);
            if (running_count() == 0 && !next_restart()) {
                bool failed = std::any_of(m_services.begin(), m_services.end(), [](Service const& s) {
                    return s.last_status && exit_code_of(*s.last_status) != 0;
                });
                say("every service has ended%s", failed ? " (some failed)" : "");
                return failed ? 1 : 0;
            }
        }
    }

private:
    void start(Service& service)
    {
        auto const& spec = *service.spec;
        service.restart_at.reset();
        std::string error;
        pid_t pid = spawn(
            SpawnOptions {
                .argv = spec.command,
                .extra_env = spec.env,
                .directory = spec.directory,
                .uid = spec.uid,
                .gid = spec.gid,
                .grouping = Grouping::Session,
            },
            error);
        service.started = Clock::now();
        if (pid < 0) {
            say("start %s: %s", spec.name.c_str(), error.c_str());
            ended(service, 127 << 8); // as a failed exec
            return;
        }
        service.pid = pid;
        say("started %s (pid %d)", spec.name.c_str(), pid);
    }

    // A service's main process ended with `status` (outside shutdown): restart by policy.
    void ended(Service& service, int status)
    {
        auto const& spec = *service.spec;
        service.pid = 0;
        service.last_status = status;
        if (!should_restart(spec.restart, status)) {
            say("%s %s (restart=%s: not restarted)", spec.name.c_str(), describe_status(status).c_str(),
                policy_name(spec.restart));
            return;
        }
        // A service that ran long enough counts as healthy: its backoff starts over.
        service.failures = Clock::now() - service.started >= k_stable_run ? 1 : service.failures + 1;
        auto delay = restart_backoff(spec, service.failures);
        service.restart_at = Clock::now() + delay;
        say("%s %s; restarting in %lldms (restart=%s)", spec.name.c_str(), describe_status(status).c_str(),
            static_cast<long long>(delay.count()), policy_name(spec.restart));
    }

    // Reaps every ended child; orphans that were adopted are simply collected.
    void handle_exits(bool shutting_down = false)
    {
        for (auto const& exited : reap_all()) {
            for (auto& service : m_services) {
                if (service.pid != exited.pid)
                    continue;
                if (shutting_down) {
                    service.pid = 0;
                    service.last_status = exited.status;
                    say("%s %s", service.spec->name.c_str(), describe_status(exited.status).c_str());
                } else {
                    ended(service, exited.status);
                }
            }
        }
    }

    void forward(int signal)
    {
        for (auto const& service : m_services)
            if (service.pid > 0)
                signal_group(service.pid, signal);
    }

    size_t running_count() const
    {
        return static_cast<size_t>(
            std::count_if(m_services.begin(), m_services.end(), [](Service const& s) { return s.pid > 0; }));
    }

    std::optional<Clock::time_point> next_restart() const
    {
        std::optional<Clock::time_point> next;
        for (auto const& service : m_services)
            if (service.restart_at && (!next || *service.restart_at < *next))
                next = service.restart_at;
        return next;
    }

    // Waits (reaping) until `service` ended or `deadline`; true if it ended.
    bool wait_for(Service const& service, Clock::time_point deadline)
    {
        while (service.pid > 0) {
            if (next_signal(m_signals, deadline) == 0 && Clock::now() >= deadline) {
                handle_exits(true);
                return service.pid == 0;
            }
            handle_exits(true);
        }
        return true;
    }

    int shutdown()
    {
        for (auto& service : m_services)
            service.restart_at.reset();
        for (auto it = m_services.rbegin(); it != m_services.rend(); ++it) {
            auto& service = *it;
            if (service.pid <= 0)
                continue;
            auto const& spec = *service.spec;
            pid_t group = service.pid;
            auto begin = Clock::now();
            say("stopping %s (pid %d) with SIG%s, timeout %lldms", spec.name.c_str(), group,
                signal_name(spec.stop_signal), static_cast<long long>(spec.stop_timeout.count()));
            signal_group(group, spec.stop_signal);
            if (!wait_for(service, begin + spec.stop_timeout)) {
                say("%s did not stop within %lldms: SIGKILL", spec.name.c_str(),
                    static_cast<long long>(spec.stop_timeout.count()));
                signal_group(group, SIGKILL);
                // SIGKILL cannot be refused; the bound only guards against a task stuck in D state.
                if (!wait_for(service, Clock::now() + std::chrono::seconds(5)))
                    say("%s (pid %d) is still there after SIGKILL", spec.name.c_str(), group);
            } else {
                say("stopped %s in %lldms", spec.name.c_str(), millis(Clock::now() - begin));
            }
            // What the service left in its group goes with it.
            (void)::kill(-group, SIGKILL);
        }
        handle_exits(true);
        say("all services stopped");
        return 0;
    }

    sigset_t m_signals;
    std::vector<Service> m_services;
};

} // namespace

int supervise(std::vector<ServiceSpec> const& services, sigset_t const& signals)
{
    Supervisor supervisor(services, signals);
    return supervisor.run();
}

} // namespace cryo::init
