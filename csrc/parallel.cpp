#include "parallel.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "common.h"

namespace dv {

namespace {
std::atomic<int> g_fail_thread_start{0};
}  // namespace

namespace detail {
bool thread_start_should_fail() {
  int n = g_fail_thread_start.load();
  while (n > 0 && !g_fail_thread_start.compare_exchange_weak(n, n - 1)) {
  }
  return n == 1;
}

void throw_thread_start_error(int index, int count, const char* what) {
  std::ostringstream os;
  os << "could not start thread " << index + 1 << " of " << count << ": " << what
     << " (a limit on threads or address space? try fewer threads)";
  throw IOError(os.str());
}
}  // namespace detail

namespace testing {
void fail_thread_start(int n) { g_fail_thread_start.store(n > 0 ? n : 0); }
}  // namespace testing

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void run_parallel(int n_threads, const std::function<void(int)>& fn,
                  const std::function<bool()>& poll, std::atomic<bool>& stop,
                  int interval_ms) {
  if (n_threads < 1) n_threads = 1;
  std::mutex mu;
  std::condition_variable cv;
  int running = n_threads;
  std::exception_ptr first_error;

  std::vector<std::thread> workers;
  workers.reserve(n_threads);
  for (int t = 0; t < n_threads; ++t) {
    try {
      workers.push_back(start_thread(t, n_threads, [&, t] {
        try {
          fn(t);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!first_error) first_error = std::current_exception();
          stop.store(true);
        }
        std::lock_guard<std::mutex> lock(mu);
        --running;
        cv.notify_all();
      }));
    } catch (...) {  // stop and join what was started, then report
      stop.store(true);
      for (auto& w : workers) w.join();
      throw;
    }
  }

  bool keep_polling = true;
  {
    std::unique_lock<std::mutex> lock(mu);
    while (running > 0) {
      cv.wait_for(lock, std::chrono::milliseconds(interval_ms));
      if (running == 0 || !keep_polling) continue;
      lock.unlock();
      if (!poll()) {
        keep_polling = false;
        stop.store(true);
      }
      lock.lock();
    }
  }
  for (auto& w : workers) w.join();
  // The last poll can be the first to see a raising callback or Ctrl-C (a job
  // shorter than interval_ms): it stops the job too, so that a caller that
  // checks `stop` gives up instead of finishing (and, say, keeping a file).
  if (keep_polling && !poll()) stop.store(true);
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace dv
