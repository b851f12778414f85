#include "util/parallel.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace stsctl;

TEST_CASE("run_ordered delivers every result in index order", "[parallel]") {
  for (unsigned workers : {1U, 2U, 4U}) {
    INFO("workers " << workers);
    std::vector<size_t> delivered;
    std::function<std::string(size_t)> work = [](size_t i) {
      // Later items finish first, so order comes from run_ordered, not luck.
      std::this_thread::sleep_for(std::chrono::microseconds((50 - i % 50) * 20));
      return std::to_string(i * i);
    };
    std::function<void(size_t, std::string&)> deliver = [&](size_t i, std::string& result) {
      CHECK(result == std::to_string(i * i));
      delivered.push_back(i);
    };
    run_ordered<std::string>(200, workers, work, deliver);
    REQUIRE(delivered.size() == 200);
    for (size_t i = 0; i < delivered.size(); ++i) {
      CHECK(delivered[i] == i);
    }
  }
}

TEST_CASE("run_ordered with nothing to do calls nothing", "[parallel]") {
  bool called = false;
  std::function<int(size_t)> work = [&](size_t) {
    called = true;
    return 0;
  };
  std::function<void(size_t, int&)> deliver = [&](size_t, int&) { called = true; };
  run_ordered<int>(0, 4, work, deliver);
  CHECK_FALSE(called);
}

TEST_CASE("run_ordered rethrows the first failure in index order after delivering what came before",
          "[parallel]") {
  std::vector<size_t> delivered;
  std::function<int(size_t)> work = [](size_t i) {
    if (i == 7 || i == 30) {
      throw std::runtime_error("item " + std::to_string(i) + " failed");
    }
    return static_cast<int>(i);
  };
  std::function<void(size_t, int&)> deliver = [&](size_t i, int&) { delivered.push_back(i); };
  try {
    run_ordered<int>(100, 2, work, deliver);
    FAIL("expected an exception");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()) == "item 7 failed");
  }
  CHECK(delivered == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("run_ordered stops when delivering fails", "[parallel]") {
  std::function<int(size_t)> work = [](size_t i) { return static_cast<int>(i); };
  std::function<void(size_t, int&)> deliver = [](size_t i, int&) {
    if (i == 3) {
      throw std::invalid_argument("cannot deliver 3");
    }
  };
  CHECK_THROWS_WITH(run_ordered<int>(1000, 2, work, deliver), "cannot deliver 3");
}

TEST_CASE("parallel_map returns every result in index order", "[parallel]") {
  for (size_t count : {size_t{0}, size_t{1}, size_t{255}, size_t{256}, size_t{1000}}) {
    INFO("count " << count);
    std::vector<size_t> squares = parallel_map<size_t>(
        count, [](size_t i) { return i * i; }, 7, 3);
    REQUIRE(squares.size() == count);
    for (size_t i = 0; i < count; ++i) {
      CHECK(squares[i] == i * i);
    }
  }
  CHECK_THROWS_WITH(
      parallel_map<int>(
          100, [](size_t i) -> int { throw std::runtime_error("failed at " + std::to_string(i)); }, 10, 2),
      "failed at 0");
}
