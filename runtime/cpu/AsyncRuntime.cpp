//===- AsyncRuntime.cpp - The async runtime of parallel bm CPU code -------===//
//
// The `mlirAsyncRuntime*` C entry points that MLIR 22's async-to-LLVM
// lowering calls (declared in mlir/ExecutionEngine/AsyncRuntime.h), for the
// tiles of `bm-lower-to-cpu{parallel=true}` code.
//
// MLIR's own runtime (libmlir_async_runtime) queues each task on a thread
// pool whose workers sleep on a condition variable, and a blocking await
// sleeps too. A parallel region of a training step is short (tens of
// microseconds), so each one paid a futex wake of a worker and another of
// the caller. Here:
//
//  * there is one worker per usable CPU but one: the thread that awaits a
//    group (the caller of the step) runs queued tasks itself while it
//    waits, so it is the last worker;
//  * workers and awaiting threads spin for a short while (BM_ASYNC_SPIN_US)
//  before
//    they sleep, so a region that follows soon after finds them awake.
//
// The entry points are defined against MLIR's declarations
// (mlir/ExecutionEngine/AsyncRuntime.h, a header without dependencies), so
// a signature that drifts from them does not compile. Semantics follow
// that header: tokens and values are created with two
// references (one is dropped when they are emplaced), groups with one; an
// `...AndExecute` callback runs at once when the object is ready, else in
// the thread that makes it ready. A thread that awaits helps run queued
// tasks, so progress never depends on a worker (a forked child has none
// until its first task). No LLVM or MLIR library is needed.
//
// Options (environment, read once): BM_NUM_THREADS, the number of threads
// that run tasks, the caller included (default: the usable CPUs);
// BM_ASYNC_SPIN_US, how long an idle thread spins before it sleeps
// (default 200; 0 sleeps at once, as a neighbour on the same cores may
// prefer).
//
//===----------------------------------------------------------------------===//

#include "mlir/ExecutionEngine/AsyncRuntime.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace {

using mlir::runtime::CoroHandle;
using mlir::runtime::CoroResume;
using Clock = std::chrono::steady_clock;

/// How long a worker or an awaiting thread spins before it sleeps, by
/// default (BM_ASYNC_SPIN_US).
constexpr int64_t kDefaultSpinUs = 200;

void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

//===----------------------------------------------------------------------===//
// Task pool
//===----------------------------------------------------------------------===//

struct Task {
  CoroHandle handle;
  CoroResume resume;
};

int usableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

/// The integer value of environment variable `name` in [lo, hi], or
/// `fallback` (with a warning if it is set to something else).
int64_t integerFromEnvironment(const char *name, int64_t lo, int64_t hi,
                               int64_t fallback) {
  const char *s = std::getenv(name);
  if (!s)
    return fallback;
  char *end = nullptr;
  long long n = std::strtoll(s, &end, 10);
  if (end != s && *end == '\0' && n >= lo && n <= hi)
    return n;
  std::fprintf(stderr,
               "bm async runtime: ignoring %s=%s (want an integer from %lld "
               "to %lld)\n",
               name, s, static_cast<long long>(lo), static_cast<long long>(hi));
  return fallback;
}

int threadsFromEnvironment() {
  return static_cast<int>(
      integerFromEnvironment("BM_NUM_THREADS", 1, 1024, usableCpus()));
}

std::chrono::microseconds spinFromEnvironment() {
  static const std::chrono::microseconds spin(
      integerFromEnvironment("BM_ASYNC_SPIN_US", 0, 1000000, kDefaultSpinUs));
  return spin;
}

/// A FIFO of tasks run by `threads - 1` workers and by awaiting threads.
/// Workers start with the first task. Never destroyed: workers may still
/// be asleep in it when the process exits.
class Pool {
public:
  explicit Pool(int threads) : threads(threads) {}

  int numThreads() const { return threads; }

  void push(Task task) {
    startWorkers();
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu);
      queue.push_back(task);
      queued.fetch_add(1, std::memory_order_release);
      wake = sleeping > 0;
    }
    if (wake)
      cv.notify_one();
  }

  /// Runs one queued task, if there is one.
  bool runOne() {
    if (queued.load(std::memory_order_acquire) == 0)
      return false;
    Task task;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (queue.empty())
        return false;
      task = queue.front();
      queue.pop_front();
      queued.fetch_sub(1, std::memory_order_relaxed);
    }
    task.resume(task.handle);
    return true;
  }

  bool hasWork() const { return queued.load(std::memory_order_acquire) > 0; }

private:
  void startWorkers() {
    std::call_once(started, [this] {
      for (int i = 1; i < threads; ++i)
        std::thread([this] { workerLoop(); }).detach();
    });
  }

  void workerLoop() {
    for (;;) {
      if (runOne())
        continue;
      Clock::time_point until = Clock::now() + spinFromEnvironment();
      bool found = false;
      while (!found && Clock::now() < until) {
        for (int i = 0; i < 64 && !(found = hasWork()); ++i)
          cpuRelax();
      }
      if (found)
        continue;
      std::unique_lock<std::mutex> lock(mu);
      ++sleeping;
      cv.wait(lock, [this] { return !queue.empty(); });
      --sleeping;
    }
  }

  const int threads;
  std::once_flag started;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> queue;
  std::atomic<int64_t> queued{0};
  int sleeping = 0;
};

Pool *currentPool = nullptr;
std::once_flag poolOnce;

/// In a forked child the parent's workers do not exist: start afresh (the
/// old pool is left as it was, its locks possibly held).
void resetPoolInChild() { currentPool = new Pool(threadsFromEnvironment()); }

Pool &pool() {
  std::call_once(poolOnce, [] {
    currentPool = new Pool(threadsFromEnvironment());
    pthread_atfork(nullptr, nullptr, resetPoolInChild);
  });
  return *currentPool;
}

/// Blocks until `ready()`, running queued tasks meanwhile; then spins for
/// BM_ASYNC_SPIN_US and finally sleeps on `cv` (whose notifier sets the state
/// under `mu`). The sleep wakes every millisecond to help again, so that a task
/// queued meanwhile never waits for a worker that is not there.
template <typename Ready>
void awaitReady(Ready ready, std::mutex &mu, std::condition_variable &cv) {
  Pool &p = pool();
  Clock::time_point until = Clock::now() + spinFromEnvironment();
  for (;;) {
    if (ready())
      return;
    if (p.runOne()) {
      until = Clock::now() + spinFromEnvironment();
      continue;
    }
    if (Clock::now() < until) {
      for (int i = 0; i < 64 && !ready() && !p.hasWork(); ++i)
        cpuRelax();
      continue;
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(1),
                [&] { return ready() || p.hasWork(); });
  }
}

//===----------------------------------------------------------------------===//
// Reference-counted objects
//===----------------------------------------------------------------------===//

class RefCounted {
public:
  explicit RefCounted(int64_t refs) : refs(refs) {}
  virtual ~RefCounted() = default;
  void addRef(int64_t n) { refs.fetch_add(n, std::memory_order_relaxed); }
  void dropRef(int64_t n) {
    if (refs.fetch_sub(n, std::memory_order_acq_rel) == n)
      delete this;
  }

private:
  std::atomic<int64_t> refs;
};

enum class State : int { Unavailable, Available, Error };

/// What tokens, values and groups share: a readiness that threads block on
/// and callbacks that run once it is reached, in the thread that reaches
/// it (or at once, when it already is).
class Awaitable : public RefCounted {
public:
  using RefCounted::RefCounted;

  virtual bool isReady() const = 0;

  void onReady(std::function<void()> f) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!isReady()) {
        awaiters.push_back(std::move(f));
        return;
      }
    }
    f();
  }

  void await() {
    awaitReady([this] { return isReady(); }, mu, cv);
  }

protected:
  /// Makes the object ready with `mark` (run under the lock, so that a
  /// thread about to sleep sees it), then runs the callbacks.
  template <typename Mark> void becomeReady(Mark mark) {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mu);
      mark();
      run.swap(awaiters);
      cv.notify_all();
    }
    for (auto &f : run)
      f();
  }

private:
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::function<void()>> awaiters;
};

/// A token, or a value's readiness: a state set once.
class Readiness : public Awaitable {
public:
  // Two references: the creator's and the one dropped by emplacing.
  Readiness() : Awaitable(2) {}

  bool isReady() const override {
    return state.load(std::memory_order_acquire) != State::Unavailable;
  }
  bool isError() const {
    return state.load(std::memory_order_acquire) == State::Error;
  }

  void set(State s) {
    becomeReady([&] { state.store(s, std::memory_order_release); });
    dropRef(1);
  }

private:
  std::atomic<State> state{State::Unavailable};
};

} // namespace

// The opaque types of the C interface.
namespace mlir::runtime {
struct AsyncToken : Readiness {};

struct AsyncValue : Readiness {
  explicit AsyncValue(int64_t size)
      : storage(new std::byte[size > 0 ? size : 1]) {}
  std::unique_ptr<std::byte[]> storage;
};

struct AsyncGroup : Awaitable {
  explicit AsyncGroup(int64_t size) : Awaitable(1), pending(size) {}

  bool isReady() const override {
    return pending.load(std::memory_order_acquire) <= 0;
  }

  /// One of the group's tokens became ready.
  void tokenReady(bool error) {
    if (error)
      errors.fetch_add(1, std::memory_order_relaxed);
    if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1)
      becomeReady([] {});
  }

  std::atomic<int64_t> pending;
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> rank{0};
};

//===----------------------------------------------------------------------===//
// The C interface
//===----------------------------------------------------------------------===//

void mlirAsyncRuntimeAddRef(RefCountedObjPtr ptr, int64_t count) {
  static_cast<RefCounted *>(ptr)->addRef(count);
}

void mlirAsyncRuntimeDropRef(RefCountedObjPtr ptr, int64_t count) {
  static_cast<RefCounted *>(ptr)->dropRef(count);
}

AsyncToken *mlirAsyncRuntimeCreateToken() { return new AsyncToken(); }

AsyncValue *mlirAsyncRuntimeCreateValue(int64_t size) {
  return new AsyncValue(size);
}

AsyncGroup *mlirAsyncRuntimeCreateGroup(int64_t size) {
  return new AsyncGroup(size);
}

int64_t mlirAsyncRuntimeAddTokenToGroup(AsyncToken *token, AsyncGroup *group) {
  int64_t rank = group->rank.fetch_add(1, std::memory_order_relaxed);
  // The group must outlive the callback even if its owner drops it first.
  group->addRef(1);
  token->onReady([group, token] {
    group->tokenReady(token->isError());
    group->dropRef(1);
  });
  return rank;
}

void mlirAsyncRuntimeEmplaceToken(AsyncToken *token) {
  token->set(State::Available);
}

void mlirAsyncRuntimeEmplaceValue(AsyncValue *value) {
  value->set(State::Available);
}

void mlirAsyncRuntimeSetTokenError(AsyncToken *token) {
  token->set(State::Error);
}

void mlirAsyncRuntimeSetValueError(AsyncValue *value) {
  value->set(State::Error);
}

bool mlirAsyncRuntimeIsTokenError(AsyncToken *token) {
  return token->isError();
}

bool mlirAsyncRuntimeIsValueError(AsyncValue *value) {
  return value->isError();
}

bool mlirAsyncRuntimeIsGroupError(AsyncGroup *group) {
  return group->errors.load(std::memory_order_acquire) > 0;
}

void mlirAsyncRuntimeAwaitToken(AsyncToken *token) { token->await(); }

void mlirAsyncRuntimeAwaitValue(AsyncValue *value) { value->await(); }

void mlirAsyncRuntimeAwaitAllInGroup(AsyncGroup *group) { group->await(); }

ValueStorage mlirAsyncRuntimeGetValueStorage(AsyncValue *value) {
  return value->storage.get();
}

void mlirAsyncRuntimeExecute(CoroHandle handle, CoroResume resume) {
  pool().push(Task{handle, resume});
}

void mlirAsyncRuntimeAwaitTokenAndExecute(AsyncToken *token, CoroHandle handle,
                                          CoroResume resume) {
  token->onReady([handle, resume] { resume(handle); });
}

void mlirAsyncRuntimeAwaitValueAndExecute(AsyncValue *value, CoroHandle handle,
                                          CoroResume resume) {
  value->onReady([handle, resume] { resume(handle); });
}

void mlirAsyncRuntimeAwaitAllInGroupAndExecute(AsyncGroup *group,
                                               CoroHandle handle,
                                               CoroResume resume) {
  group->onReady([handle, resume] { resume(handle); });
}

// (Sic: the name MLIR's lowering calls.)
int64_t mlirAsyncRuntimGetNumWorkerThreads() { return pool().numThreads(); }

void mlirAsyncRuntimePrintCurrentThreadId() {
  std::printf("Current thread id: %zu\n",
              std::hash<std::thread::id>()(std::this_thread::get_id()));
  std::fflush(stdout);
}

} // namespace mlir::runtime
