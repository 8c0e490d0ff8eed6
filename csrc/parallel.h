// Worker threads with a polling caller: the calling thread stays free to report
// progress and to notice Ctrl-C while the workers run with the GIL released.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace dv {

// Runs fn(thread_index) on n_threads threads. While they run, the calling thread
// calls poll() every interval_ms; when poll() returns false, `stop` is set so the
// workers can finish early. The first exception thrown by a worker is rethrown
// after all workers have joined. poll() is also called once after the join
// (when it returns false there, `stop` is set too).
// When a thread cannot be started, `stop` is set, the threads already started
// are joined and IOError is thrown (see start_thread).
void run_parallel(int n_threads, const std::function<void(int)>& fn,
                  const std::function<bool()>& poll, std::atomic<bool>& stop,
                  int interval_ms = 100);

// Stops workers that take turns on a condition variable (ordered output):
// sets `stop` under the mutex and wakes every waiter. Called by a failing
// worker before it rethrows, and through polling() when poll() says stop.
struct TurnStop {
  std::mutex& mu;
  std::condition_variable& cv;
  std::atomic<bool>& stop;
  void operator()() const {
    std::lock_guard<std::mutex> lock(mu);
    stop.store(true);
    cv.notify_all();
  }
  std::function<bool()> polling(const std::function<bool()>& poll) const {
    return [this, &poll] {
      const bool go_on = poll();
      if (!go_on) (*this)();
      return go_on;
    };
  }
};

// Number of hardware threads (at least 1).
int hardware_threads();

namespace detail {
bool thread_start_should_fail();  // the test hook below
[[noreturn]] void throw_thread_start_error(int index, int count, const char* what);
}  // namespace detail

// std::thread(fn) for thread `index` (0-based) of `count`. When the system
// refuses (std::system_error: a thread or address-space limit), throws IOError
// "could not start thread <index + 1> of <count>: <reason>"; the caller must
// then stop and join the threads it has started.
template <class Fn>
std::thread start_thread(int index, int count, Fn&& fn) {
  try {
    if (detail::thread_start_should_fail())
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "failure injected by densevec._core.testing");
    return std::thread(std::forward<Fn>(fn));
  } catch (const std::system_error& e) {
    detail::throw_thread_start_error(index, count, e.what());
  }
}

namespace testing {
// Test hook: the n-th thread start from now (1 = the next one) fails as if the
// system had refused it; 0 turns the hook off.
void fail_thread_start(int n);
}  // namespace testing

}  // namespace dv
