// Worker threads with a polling caller: the calling thread stays free to report
// progress and to notice Ctrl-C while the workers run with the GIL released.
#pragma once
#include <atomic>
#include <functional>

namespace dv {

// Runs fn(thread_index) on n_threads threads. While they run, the calling thread
// calls poll() every interval_ms; when poll() returns false, `stop` is set so the
// workers can finish early. The first exception thrown by a worker is rethrown
// after all workers have joined. poll() is also called once after the join.
void run_parallel(int n_threads, const std::function<void(int)>& fn,
                  const std::function<bool()>& poll, std::atomic<bool>& stop,
                  int interval_ms = 100);

// Number of hardware threads (at least 1).
int hardware_threads();

}  // namespace dv
