// The "stopped" key of a process's task state (task_state_codec.cpp): a process dumped in a
// group stop keeps its stop signal; images without the key (older ones) decode as running;
// anything but a stop signal, or a stopped zombie, is refused.
#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "checkpoint/codec.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

Process one_thread_process(int pid)
{
    Process p;
    p.pid = pid;
    Thread t;
    t.tid = pid;
    p.threads.push_back(t);
    p.state.pdeathsig = SIGHUP; // something else of the task state, to see it kept alongside
    return p;
}

// `text` with the first `from` replaced by `to` (a failed expectation if absent).
std::string edited(std::string text, std::string const& from, std::string const& to)
{
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from << " not in " << text;
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

// Where the "signal" key of the "stopped" object starts in an encoded process (npos: none).
size_t stopped_signal_key(std::string const& text)
{
    auto stopped = text.find("\"stopped\"");
    return stopped == std::string::npos ? std::string::npos : text.find("\"signal\"", stopped);
}

} // namespace

TEST(StoppedCodec, RoundTripKeepsTheStopSignal)
{
    for (int signal : { SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU }) {
        auto p = one_thread_process(60);
        p.state.stop_signal = signal;
        auto text = encode_process(p);
        EXPECT_NE(text.find("\"stopped\""), std::string::npos) << text;
        auto decoded = decode_process(text);
        ASSERT_TRUE(decoded) << decoded.error().message();
        EXPECT_EQ(decoded->state.stop_signal, signal);
        EXPECT_EQ(decoded->state, p.state);
    }
}

TEST(StoppedCodec, RunningProcessHasNoKey)
{
    auto p = one_thread_process(61);
    auto text = encode_process(p);
    EXPECT_EQ(text.find("\"stopped\""), std::string::npos) << text;
    auto decoded = decode_process(text);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->state.stop_signal, 0);
}

TEST(StoppedCodec, ImageWithoutTheKeyRestoresRunning)
{
    // An image written before the key existed: the same process decodes as running, the rest
    // of its task state unchanged.
    auto p = one_thread_process(62);
    p.state.stop_signal = SIGSTOP;
    auto older = edited(encode_process(p), "\"stopped\":", "\"old_unknown_key\":");
    auto decoded = decode_process(older);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->state.stop_signal, 0);
    EXPECT_EQ(decoded->state.pdeathsig, SIGHUP);
}

TEST(StoppedCodec, SignalDefaultsToSigstop)
{
    auto p = one_thread_process(63);
    p.state.stop_signal = SIGTSTP;
    auto text = encode_process(p);
    auto signal_key = stopped_signal_key(text);
    ASSERT_NE(signal_key, std::string::npos) << text;
    // Drop "signal": N from the stopped object, whatever the spacing.
    auto close = text.find('}', signal_key);
    ASSERT_NE(close, std::string::npos);
    auto without = text.substr(0, signal_key) + text.substr(close);
    auto decoded = decode_process(without);
    ASSERT_TRUE(decoded) << decoded.error().message() << "\n" << without;
    EXPECT_EQ(decoded->state.stop_signal, SIGSTOP);
}

TEST(StoppedCodec, RejectsWhatIsNotAStop)
{
    auto p = one_thread_process(64);
    p.state.stop_signal = SIGSTOP;
    auto text = encode_process(p);
    auto signal_key = stopped_signal_key(text);
    ASSERT_NE(signal_key, std::string::npos) << text;
    auto value = text.find("19", signal_key);
    ASSERT_NE(value, std::string::npos);
    for (std::string bad : { "9", "0", "-1", "64" }) {
        auto r = decode_process(text.substr(0, value) + bad + text.substr(value + 2));
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message().find("is not a stop signal"), std::string::npos) << r.error().message();
    }
    // Not a number at all.
    EXPECT_FALSE(decode_process(text.substr(0, value) + "\"STOP\"" + text.substr(value + 2)));

    // A zombie has exited: it cannot be stopped too.
    auto zombie = one_thread_process(65);
    zombie.state.zombie = true;
    zombie.state.exit_status = 3 << 8;
    zombie.state.stop_signal = SIGSTOP;
    auto r = decode_process(encode_process(zombie));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("zombie cannot be stopped"), std::string::npos) << r.error().message();
}
