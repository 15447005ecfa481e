#include "services/http/monthly_cache.h"

#include "services/reports/store_report.h"

namespace casewatch::http {

MonthlyTrendCache::MonthlyTrendCache(Stores stores, std::chrono::milliseconds refresh)
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
  const std::vector<const store::StoreReader*> stores = stores_();
  std::shared_ptr<const reports::MonthlyTrend> current;
  {
    MutexLock lock(mutex_);
    // Computed over other stores (the tasks served here changed): not an answer for these.
    if (computed_over_ == stores) current = current_;
  }
  if (!current) {
    MutexLock computing(compute_mutex_);
    {
      MutexLock lock(mutex_);
      if (current_ && computed_over_ == stores) return current_;  // computed meanwhile
    }
    CW_TRY(trend, reports::MonthlyTrend::Compute(stores, std::nullopt, &stopping_));
    MutexLock lock(mutex_);
    current_ = std::make_shared<const reports::MonthlyTrend>(std::move(trend));
    computed_over_ = stores;
    computed_ = std::chrono::steady_clock::now();
    return current_;
  }
  CW_TRY(projected, reports::EarliestProjectionInstant(stores));
  const bool moved = projected && *projected != current->computed_at();
  const bool other_month =
      projected && reports::MonthOf(DateOf(*projected)) != current->months().back();
  MutexLock lock(mutex_);
  const bool old = std::chrono::steady_clock::now() - computed_ >= refresh_;
  if (moved && (old || other_month) && !refreshing_) {
    refreshing_ = true;
    if (worker_.joinable()) worker_.join();  // the last refresh, finished
    worker_ = std::thread([this, stores] { Refresh(stores); });
  }
  return current;
}

void MonthlyTrendCache::Refresh(std::vector<const store::StoreReader*> stores) {
  std::shared_ptr<const reports::MonthlyTrend> trend;
  {
    MutexLock computing(compute_mutex_);
    if (auto computed = reports::MonthlyTrend::Compute(stores, std::nullopt, &stopping_);
        computed && !stopping_) {
      trend = std::make_shared<const reports::MonthlyTrend>(std::move(computed).value());
    }
  }
  MutexLock lock(mutex_);
  if (trend && computed_over_ == stores) current_ = std::move(trend);
  // A failed recomputation keeps the last trend and is tried again after the interval.
  computed_ = std::chrono::steady_clock::now();
  refreshing_ = false;
}

}  // namespace casewatch::http
