// Feeds a Store from a Watcher's events the way a Controller does (a list staged page by page
// and swapped in when it is done), without waking anything: for tests of the watcher itself.
#pragma once

#include <optional>

#include "kube/store.h"
#include "kube/watcher.h"

namespace okami::kube::testing {

class StoreFeed {
 public:
  explicit StoreFeed(Store& store) : store_(store) {}
  void operator()(const WatcherEvent& e) {
    switch (e.type) {
      case WatcherEvent::Type::kListBegin: staged_.emplace(store_.begin_replace()); break;
      case WatcherEvent::Type::kListPage:
        if (!staged_) staged_.emplace(store_.begin_replace());
        for (const auto& o : e.objects) staged_->add(*o);
        break;
      case WatcherEvent::Type::kListDone:
        if (!staged_) staged_.emplace(store_.begin_replace());
        staged_->commit();
        staged_.reset();
        break;
      case WatcherEvent::Type::kApplied: store_.apply_prepared(e.object); break;
      case WatcherEvent::Type::kDeleted: store_.remove(object_key(*e.object)); break;
    }
  }

 private:
  Store& store_;
  std::optional<Store::Replacement> staged_;
};

}  // namespace okami::kube::testing
