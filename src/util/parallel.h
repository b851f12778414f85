#pragma once
// Runs independent pieces of work on a few threads and hands the results back
// on the calling thread in index order, so output stays deterministic.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace stsctl {

/// Worker threads for CPU- and file-system-bound batches: one per core, at
/// most four (the batches are short; more threads only add contention).
inline unsigned default_worker_count() {
  unsigned cores = std::thread::hardware_concurrency();
  return std::clamp(cores, 1U, 4U);
}

/// Calls work(i) for every i in [0, count) on up to `workers` threads and
/// deliver(i, result) on the calling thread for i = 0, 1, ... in order. The
/// first exception (in index order) from work or deliver stops the run and is
/// rethrown here, after every thread has finished.
template <typename Result>
void run_ordered(size_t count, unsigned workers, const std::function<Result(size_t)>& work,
                 const std::function<void(size_t, Result&)>& deliver) {
  workers = static_cast<unsigned>(std::min<size_t>(std::max(workers, 1U), count));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) {
      Result result = work(i);
      deliver(i, result);
    }
    return;
  }
  struct Slot {
    std::optional<Result> result;
    std::exception_ptr error;
    bool done = false;
  };
  std::vector<Slot> slots(count);
  std::mutex mutex;
  std::condition_variable finished;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto worker = [&] {
    while (!stop.load()) {
      size_t i = next.fetch_add(1);
      if (i >= count) {
        return;
      }
      std::optional<Result> result;
      std::exception_ptr error;
      try {
        result.emplace(work(i));
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        slots[i].result = std::move(result);
        slots[i].error = error;
        slots[i].done = true;
      }
      finished.notify_all();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (unsigned t = 0; t < workers; ++t) {
    threads.emplace_back(worker);
  }
  std::exception_ptr failure;
  for (size_t i = 0; i < count && !failure; ++i) {
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, [&] { return slots[i].done; });
    if (slots[i].error) {
      failure = slots[i].error;
      break;
    }
    std::optional<Result> result = std::move(slots[i].result);
    slots[i].result.reset();
    lock.unlock();
    try {
      deliver(i, *result);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  stop = true;
  for (auto& thread : threads) {
    thread.join();
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
}

/// work(i) for every i in [0, count), in batches of `batch_size` items on up
/// to `workers` threads; the results in index order. The first exception (in
/// index order) is rethrown after every thread has finished.
template <typename Result>
std::vector<Result> parallel_map(size_t count, const std::function<Result(size_t)>& work,
                                 size_t batch_size = 256, unsigned workers = default_worker_count()) {
  std::vector<Result> results;
  results.reserve(count);
  std::function<std::vector<Result>(size_t)> run_batch = [&](size_t batch) {
    std::vector<Result> out;
    for (size_t i = batch * batch_size; i < std::min(count, (batch + 1) * batch_size); ++i) {
      out.push_back(work(i));
    }
    return out;
  };
  std::function<void(size_t, std::vector<Result>&)> collect = [&](size_t, std::vector<Result>& out) {
    std::move(out.begin(), out.end(), std::back_inserter(results));
  };
  run_ordered((count + batch_size - 1) / batch_size, workers, run_batch, collect);
  return results;
}

}  // namespace stsctl
