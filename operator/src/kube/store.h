// The reflector's cache: the watcher's events land here, controllers and reconcilers read from
// here (never from the event). Objects are keyed by "namespace/name" ("name" for cluster-scoped
// objects); secondary indexes map an index value (an owner's UID, a label "key=value", ...) to
// the keys of the objects that produce it.
//
// Objects are held packed (MessagePack) and every read decodes a private, immutable document.
// The cache is most of the operator's memory: a JSON DOM costs about 6.5 times its text (a
// 2.8 kB Deployment: 18.4 kB; tests/bench/kube_bench.cpp), its packed form a little less than
// the text. A read costs a decode of one object, which reconciles, reading a few dozen objects
// each, barely notice next to their API calls.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace okami::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// "ns/name", or "name" when the object has no namespace.
std::string object_key(const nlohmann::json& object);
std::string object_key(const std::string& ns, const std::string& name);

// Maps an object to the index values it is found under (none, one or many).
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json&)>;

// Built-in index names and their functions.
inline constexpr const char* kIndexControllerUid = "controller-uid";  // ownerReference controller=true
inline constexpr const char* kIndexLabel = "label";                    // "key=value" per label
std::vector<std::string> index_by_controller_uid(const nlohmann::json& object);
std::vector<std::string> index_by_label(const nlohmann::json& object);
std::string label_index_value(const std::string& key, const std::string& value);

struct StoreOptions {
  // Drop metadata.managedFields before caching: it is often the largest part of an object and
  // no controller reads it.
  bool strip_managed_fields = true;
};

class Store {
 public:
  explicit Store(StoreOptions options = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Registers an index; existing objects are indexed at once. Replaces an index of that name.
  void add_index(const std::string& name, IndexFunc fn);

  // Inserts or replaces one object; returns the previous version (nullptr if none).
  ObjectPtr apply(nlohmann::json object);
  // The same for an object already prepared for caching (a watcher's: managedFields gone,
  // frozen), packed as it is.
  ObjectPtr apply_prepared(ObjectPtr object);
  // Removes the object with this key; returns it (nullptr if it was not cached).
  ObjectPtr remove(const std::string& key);

  class Replacement;
  // Starts replacing the whole content (a relist). The new content is packed and indexed as it
  // arrives, a page at a time, while readers still see the old one; Replacement::commit() swaps
  // it in at once. One replacement at a time per store; one dropped uncommitted changes nothing.
  Replacement begin_replace();
  // The same in one call, for content already at hand. Returns what the new content lacks.
  std::vector<ObjectPtr> replace(std::vector<nlohmann::json> objects);

  ObjectPtr get(const std::string& key) const;
  ObjectPtr get(const std::string& ns, const std::string& name) const;
  // A consistent snapshot: every object present at one instant, in key order.
  std::vector<ObjectPtr> list() const;
  std::vector<ObjectPtr> list_namespace(const std::string& ns) const;
  // Objects whose index `index` yields `value`, in key order; empty for an unknown index.
  std::vector<ObjectPtr> by_index(const std::string& index, const std::string& value) const;
  std::size_t size() const;

  bool has_synced() const;
  // Blocks until the first replacement commits or until `timeout` passes; returns has_synced().
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

 private:
  using Packed = std::shared_ptr<const std::vector<std::uint8_t>>;
  using Indexes = std::map<std::string, std::unordered_map<std::string, std::set<std::string>>>;
  static Packed pack(const nlohmann::json& object);
  static ObjectPtr unpack(const Packed& packed);
  static std::vector<ObjectPtr> unpack_all(const std::vector<Packed>& packed);
  ObjectPtr prepare(nlohmann::json object) const;
  void index_locked(const std::string& key, const nlohmann::json& object);
  void unindex_locked(const std::string& key, const nlohmann::json& object);

  StoreOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable synced_cv_;
  std::map<std::string, Packed> objects_;
  std::map<std::string, IndexFunc> index_funcs_;
  Indexes indexes_;  // index name -> value -> keys
  bool synced_ = false;
};

// A relist in progress: only packed objects and index keys accumulate, so a list never exists
// as documents all at once (a document costs several times its packed form).
class Store::Replacement {
 public:
  Replacement(Replacement&&) = default;
  Replacement& operator=(Replacement&&) = default;

  // Packs and indexes one object of the new content; a later object with the same key wins.
  // Returns the version the store holds under that key now (nullptr if none), decoded, so the
  // caller can tell whether the object changed while it was not watching.
  ObjectPtr add(const nlohmann::json& object);
  std::size_t size() const { return fresh_.size(); }
  // Swaps the new content in and marks the store synced. Returns the objects the new content
  // lacks (deleted while the watch was away), decoded. Leaves this replacement empty.
  std::vector<ObjectPtr> commit();

 private:
  friend class Store;
  explicit Replacement(Store& store);

  Store* store_;
  std::map<std::string, IndexFunc> funcs_;  // the store's index functions when this began
  std::map<std::string, Packed> fresh_;
  Indexes fresh_indexes_;
};

}  // namespace okami::kube
