// StoredObjectSource (stored_backup.h): turns ObjectStore::get, which pushes chunks into a sink,
// into a ByteSource libarchive pulls from. The get runs on its own thread; one chunk at a time
// changes hands under a mutex, so memory stays at one chunk whatever the object's size.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "okami/backup/stored_backup.h"

namespace okami::backup {

struct StoredObjectSource::Shared {
  std::mutex mutex;
  std::condition_variable changed;
  std::string chunk;  // the chunk being handed over; reused
  size_t taken = 0;   // bytes of chunk the reader has taken
  bool done = false;  // the get returned
  bool stopped = false;  // the reader went away
  std::optional<common::Error> error;
  std::thread thread;
};

StoredObjectSource::StoredObjectSource(ObjectStore& store, std::string key) : shared_(std::make_unique<Shared>()) {
  Shared* s = shared_.get();
  s->thread = std::thread([s, &store, key = std::move(key)] {
    auto result = store.get(key, [s](const char* data, size_t size) -> common::Status {
      std::unique_lock lock(s->mutex);
      s->changed.wait(lock, [s] { return s->stopped || s->taken == s->chunk.size(); });
      if (s->stopped) return common::fail(common::ErrorCode::kCancelled, "read stopped by its reader");
      s->chunk.assign(data, size);
      s->taken = 0;
      s->changed.notify_all();
      return common::ok();
    });
    std::lock_guard lock(s->mutex);
    s->done = true;
    if (!result) s->error = result.error();
    s->changed.notify_all();
  });
}

StoredObjectSource::~StoredObjectSource() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopped = true;
    shared_->changed.notify_all();
  }
  shared_->thread.join();
}

common::Result<size_t> StoredObjectSource::read(void* buffer, size_t capacity) {
  Shared* s = shared_.get();
  std::unique_lock lock(s->mutex);
  s->changed.wait(lock, [s] { return s->done || s->taken < s->chunk.size(); });
  if (s->taken < s->chunk.size()) {
    const size_t n = std::min(capacity, s->chunk.size() - s->taken);
    std::memcpy(buffer, s->chunk.data() + s->taken, n);
    s->taken += n;
    if (s->taken == s->chunk.size()) s->changed.notify_all();
    return n;
  }
  if (s->error) return tl::unexpected(*s->error);
  return size_t{0};
}

}  // namespace okami::backup
