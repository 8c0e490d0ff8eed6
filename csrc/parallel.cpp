#include "parallel.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace dv {

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
    workers.emplace_back([&, t] {
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
    });
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
  if (keep_polling) poll();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace dv
