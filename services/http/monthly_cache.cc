#include "services/http/monthly_cache.h"

#include "services/reports/store_report.h"

namespace casewatch::http {

MonthlyTrendCache::MonthlyTrendCache(std::vector<const store::StoreReader*> stores,
                                     std::chrono::milliseconds refresh)
    : stores_(std::move(stores)), refresh_(refresh) {}

MonthlyTrendCache::~MonthlyTrendCache() {
  stopping_ = true;
  std::thread worker;
  {
    MutexLock lock(mutex_);
    worker = std::move(worker_);
  }
  if (worker.joinable()) worker.join();
}

Result<std::shared_ptr<const reports::MonthlyTrend>> MonthlyTrendCache::Get() {
  std::shared_ptr<const reports::MonthlyTrend> current;
  {
    MutexLock lock(mutex_);
    current = current_;
  }
  if (!current) {
    MutexLock computing(compute_mutex_);
    {
      MutexLock lock(mutex_);
      if (current_) return current_;  // another call computed it meanwhile
    }
    CW_TRY(trend, reports::MonthlyTrend::Compute(stores_, std::nullopt, &stopping_));
    MutexLock lock(mutex_);
    current_ = std::make_shared<const reports::MonthlyTrend>(std::move(trend));
    computed_ = std::chrono::steady_clock::now();
    return current_;
  }
  CW_TRY(projected, reports::EarliestProjectionInstant(stores_));
  const bool moved = projected && *projected != current->computed_at();
  const bool other_month =
      projected && reports::MonthOf(DateOf(*projected)) != current->months().back();
  MutexLock lock(mutex_);
  const bool old = std::chrono::steady_clock::now() - computed_ >= refresh_;
  if (moved && (old || other_month) && !refreshing_) {
    refreshing_ = true;
    if (worker_.joinable()) worker_.join();  // the last refresh, finished
    worker_ = std::thread([this] { Refresh(); });
  }
  return current;
}

void MonthlyTrendCache::Refresh() {
  std::shared_ptr<const reports::MonthlyTrend> trend;
  {
    MutexLock computing(compute_mutex_);
    if (auto computed = reports::MonthlyTrend::Compute(stores_, std::nullopt, &stopping_);
        computed && !stopping_) {
      trend = std::make_shared<const reports::MonthlyTrend>(std::move(computed).value());
    }
  }
  MutexLock lock(mutex_);
  if (trend) current_ = std::move(trend);
  // A failed recomputation keeps the last trend and is tried again after the interval.
  computed_ = std::chrono::steady_clock::now();
  refreshing_ = false;
}

}  // namespace casewatch::http
