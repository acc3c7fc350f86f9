//===- AsyncRuntimeTest.cpp - bm's async runtime (runtime/cpu) ------------===//
//
// The entry points as MLIR's async-to-LLVM lowering uses them: tasks are
// (handle, resume) pairs; tokens and values start with two references,
// groups with one. Built with the runtime's source, so that the sanitized
// build checks its reference counting (a leak or a use after free fails).
//
//===----------------------------------------------------------------------===//

#include "mlir/ExecutionEngine/AsyncRuntime.h"

#include "gtest/gtest.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace mlir::runtime;

namespace {

/// A task that emplaces `token` after bumping `counter`.
struct EmplaceTask {
  std::atomic<int> *counter;
  AsyncToken *token;
  std::thread::id ranOn;
};

void runEmplaceTask(void *p) {
  auto *task = static_cast<EmplaceTask *>(p);
  task->ranOn = std::this_thread::get_id();
  task->counter->fetch_add(1);
  mlirAsyncRuntimeEmplaceToken(task->token);
}

void bump(void *p) { static_cast<std::atomic<int> *>(p)->fetch_add(1); }

/// Runs `tasks` tasks through mlirAsyncRuntimeExecute, each emplacing a
/// token of one group, awaits the group; returns how many ran and where.
int runGroup(int tasks, std::vector<std::thread::id> *threads = nullptr) {
  std::atomic<int> counter{0};
  std::vector<EmplaceTask> work(tasks);
  AsyncGroup *group = mlirAsyncRuntimeCreateGroup(tasks);
  std::set<int64_t> ranks;
  for (EmplaceTask &task : work) {
    task.counter = &counter;
    task.token = mlirAsyncRuntimeCreateToken();
    ranks.insert(mlirAsyncRuntimeAddTokenToGroup(task.token, group));
  }
  EXPECT_EQ(ranks.size(), static_cast<size_t>(tasks));
  if (tasks > 0) {
    EXPECT_EQ(*ranks.begin(), 0);
    EXPECT_EQ(*ranks.rbegin(), tasks - 1);
  }
  for (EmplaceTask &task : work)
    mlirAsyncRuntimeExecute(&task, runEmplaceTask);
  mlirAsyncRuntimeAwaitAllInGroup(group);
  EXPECT_FALSE(mlirAsyncRuntimeIsGroupError(group));
  int ran = counter.load();
  for (EmplaceTask &task : work) {
    if (threads)
      threads->push_back(task.ranOn);
    mlirAsyncRuntimeDropRef(task.token, 1);
  }
  mlirAsyncRuntimeDropRef(group, 1);
  return ran;
}

TEST(AsyncRuntime, TokenAwaitAndCallbacks) {
  std::atomic<int> calls{0};
  AsyncToken *token = mlirAsyncRuntimeCreateToken();
  // Registered before the token is ready: runs when it is emplaced.
  mlirAsyncRuntimeAwaitTokenAndExecute(token, &calls, bump);
  EXPECT_EQ(calls.load(), 0);
  mlirAsyncRuntimeEmplaceToken(token);
  EXPECT_EQ(calls.load(), 1);
  // Registered after: runs at once.
  mlirAsyncRuntimeAwaitTokenAndExecute(token, &calls, bump);
  EXPECT_EQ(calls.load(), 2);
  mlirAsyncRuntimeAwaitToken(token); // ready: returns
  EXPECT_FALSE(mlirAsyncRuntimeIsTokenError(token));
  mlirAsyncRuntimeDropRef(token, 1);
}

TEST(AsyncRuntime, TokenErrorReachesGroup) {
  AsyncGroup *group = mlirAsyncRuntimeCreateGroup(2);
  AsyncToken *ok = mlirAsyncRuntimeCreateToken();
  AsyncToken *bad = mlirAsyncRuntimeCreateToken();
  mlirAsyncRuntimeAddTokenToGroup(ok, group);
  mlirAsyncRuntimeAddTokenToGroup(bad, group);
  // The caller drops its references before the tokens are ready: the
  // group's callbacks must keep what they need alive.
  mlirAsyncRuntimeDropRef(ok, 1);
  mlirAsyncRuntimeDropRef(bad, 1);
  std::atomic<int> calls{0};
  mlirAsyncRuntimeAwaitAllInGroupAndExecute(group, &calls, bump);
  mlirAsyncRuntimeEmplaceToken(ok);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_FALSE(mlirAsyncRuntimeIsGroupError(group));
  mlirAsyncRuntimeSetTokenError(bad);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(mlirAsyncRuntimeIsGroupError(group));
  mlirAsyncRuntimeAwaitAllInGroup(group);
  mlirAsyncRuntimeDropRef(group, 1);
}

TEST(AsyncRuntime, ValueStorageAndError) {
  AsyncValue *value = mlirAsyncRuntimeCreateValue(sizeof(double));
  double v = 2.5;
  std::memcpy(mlirAsyncRuntimeGetValueStorage(value), &v, sizeof v);
  std::atomic<int> calls{0};
  mlirAsyncRuntimeAwaitValueAndExecute(value, &calls, bump);
  std::thread producer([value] { mlirAsyncRuntimeEmplaceValue(value); });
  mlirAsyncRuntimeAwaitValue(value);
  producer.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_FALSE(mlirAsyncRuntimeIsValueError(value));
  double back = 0;
  std::memcpy(&back, mlirAsyncRuntimeGetValueStorage(value), sizeof back);
  EXPECT_EQ(back, 2.5);
  mlirAsyncRuntimeDropRef(value, 1);

  AsyncValue *failed = mlirAsyncRuntimeCreateValue(4);
  mlirAsyncRuntimeSetValueError(failed);
  mlirAsyncRuntimeAwaitValue(failed);
  EXPECT_TRUE(mlirAsyncRuntimeIsValueError(failed));
  mlirAsyncRuntimeDropRef(failed, 1);
}

TEST(AsyncRuntime, AddRefKeepsObjectsAlive) {
  AsyncToken *token = mlirAsyncRuntimeCreateToken();
  mlirAsyncRuntimeAddRef(token, 3);
  mlirAsyncRuntimeEmplaceToken(token); // drops the emplace reference
  mlirAsyncRuntimeDropRef(token, 3);
  EXPECT_FALSE(mlirAsyncRuntimeIsTokenError(token)); // one reference left
  mlirAsyncRuntimeDropRef(token, 1);
}

TEST(AsyncRuntime, EmptyGroupIsReady) { EXPECT_EQ(runGroup(0), 0); }

TEST(AsyncRuntime, GroupsOfTasks) {
  EXPECT_GE(mlirAsyncRuntimGetNumWorkerThreads(), 1);
  for (int tasks : {1, 2, 7, 64, 1000})
    EXPECT_EQ(runGroup(tasks), tasks);
}

TEST(AsyncRuntime, ConcurrentAwaiters) {
  // Several threads submit and await groups at once; each helps run tasks.
  std::vector<std::thread> threads;
  std::atomic<int> total{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&total] {
      for (int round = 0; round < 200; ++round)
        total += runGroup(5);
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(total.load(), 4 * 200 * 5);
}

TEST(AsyncRuntimeDeathTest, OneThreadRunsTasksInTheAwaiter) {
  // In a forked child with BM_NUM_THREADS=1 there is no worker at all: the
  // awaiting thread must run every task itself (and the fork handler must
  // have given the child a pool of its own).
  GTEST_FLAG_SET(death_test_style, "fast");
  const char *old = std::getenv("BM_NUM_THREADS");
  std::string saved = old ? old : "";
  setenv("BM_NUM_THREADS", "1", 1);
  EXPECT_EXIT(
      {
        alarm(30); // a task nobody runs would hang: fail instead
        std::vector<std::thread::id> where;
        int ran = runGroup(16, &where);
        bool allHere = true;
        for (std::thread::id id : where)
          allHere &= id == std::this_thread::get_id();
        std::exit(ran == 16 && allHere &&
                          mlirAsyncRuntimGetNumWorkerThreads() == 1
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
  if (old)
    setenv("BM_NUM_THREADS", saved.c_str(), 1);
  else
    unsetenv("BM_NUM_THREADS");
}

} // namespace
