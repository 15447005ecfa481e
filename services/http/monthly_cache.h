#pragma once
// The month-by-month trend from history (reports::MonthlyTrend) for GET /api/v1/trend?interval=
// month, computed from the store and kept: the first call computes it (and waits); afterwards,
// once it is older than the refresh interval and the engine has written since, or the engine's
// instant has moved into another month, it is recomputed in the background while calls go on
// getting the one there is. Each answer names the instant its months were computed at.
// Thread-safe.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "services/reports/monthly_trend.h"
#include "services/store/store.h"

namespace casewatch::http {

class MonthlyTrendCache {
 public:
  // `stores`: the engine's store, or the stores of the tasks it serves now
  // (reports::MonthlyTrend::Compute); when they change, the trend is computed again at once.
  using Stores = std::function<std::vector<const store::StoreReader*>()>;
  MonthlyTrendCache(Stores stores, std::chrono::milliseconds refresh);
  ~MonthlyTrendCache();  // waits for a recomputation under way (cut short)

  [[nodiscard]] Result<std::shared_ptr<const reports::MonthlyTrend>> Get();

 private:
  void Refresh(std::vector<const store::StoreReader*> stores);

  const Stores stores_;
  std::vector<const store::StoreReader*> computed_over_ CW_GUARDED_BY(mutex_);
  const std::chrono::milliseconds refresh_;
  std::atomic<bool> stopping_{false};
  Mutex compute_mutex_;  // one computation at a time
  Mutex mutex_;
  std::shared_ptr<const reports::MonthlyTrend> current_ CW_GUARDED_BY(mutex_);
  std::chrono::steady_clock::time_point computed_ CW_GUARDED_BY(mutex_);
  bool refreshing_ CW_GUARDED_BY(mutex_) = false;
  std::thread worker_ CW_GUARDED_BY(mutex_);
};

}  // namespace casewatch::http
