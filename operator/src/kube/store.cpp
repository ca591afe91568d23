#include "kube/store.h"

namespace okami::kube {

using nlohmann::json;

std::string object_key(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

std::string object_key(const json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  return object_key(meta->value("namespace", std::string()), meta->value("name", std::string()));
}

std::vector<std::string> index_by_controller_uid(const json& object) {
  std::vector<std::string> out;
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->contains("ownerReferences")) return out;
  const auto& refs = (*meta)["ownerReferences"];
  if (!refs.is_array()) return out;
  for (const auto& ref : refs) {
    if (ref.is_object() && ref.value("controller", false)) {
      out.push_back(ref.value("uid", std::string()));
      break;  // at most one controller per object
    }
  }
  return out;
}

std::string label_index_value(const std::string& key, const std::string& value) {
  return key + "=" + value;
}

std::vector<std::string> index_by_label(const json& object) {
  std::vector<std::string> out;
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->contains("labels")) return out;
  const auto& labels = (*meta)["labels"];
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    if (v.is_string()) out.push_back(label_index_value(k, v.get<std::string>()));
  }
  return out;
}

Store::Store(StoreOptions options) : options_(options) {
  index_funcs_[kIndexControllerUid] = index_by_controller_uid;
  index_funcs_[kIndexLabel] = index_by_label;
}

Store::Packed Store::pack(const json& object) {
  std::vector<std::uint8_t> bytes = json::to_msgpack(object);
  bytes.shrink_to_fit();  // the encoder grows the buffer by doubling: keep only what it holds
  return std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
}

ObjectPtr Store::unpack(const Packed& packed) {
  return std::make_shared<const json>(json::from_msgpack(*packed));
}

void Store::add_index(const std::string& name, IndexFunc fn) {
  std::lock_guard lock(mu_);
  index_funcs_[name] = std::move(fn);
  auto& index = indexes_[name];
  index.clear();
  for (const auto& [key, packed] : objects_) {
    for (auto& value : index_funcs_[name](*unpack(packed))) index[value].insert(key);
  }
}

ObjectPtr Store::prepare(json object) const {
  if (options_.strip_managed_fields) {
    auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) meta->erase("managedFields");
  }
  return std::make_shared<const json>(std::move(object));
}

void Store::index_locked(const std::string& key, const json& object) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& index = indexes_[name];
    for (auto& value : fn(object)) index[value].insert(key);
  }
}

void Store::unindex_locked(const std::string& key, const json& object) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& index = indexes_[name];
    for (auto& value : fn(object)) {
      auto it = index.find(value);
      if (it == index.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.erase(it);
    }
  }
}

ObjectPtr Store::apply(json object) { return apply_prepared(prepare(std::move(object))); }

ObjectPtr Store::apply_prepared(ObjectPtr fresh) {
  const std::string key = object_key(*fresh);
  Packed packed = pack(*fresh);
  std::lock_guard lock(mu_);
  ObjectPtr previous;
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    previous = unpack(it->second);
    unindex_locked(key, *previous);
    it->second = std::move(packed);
  } else {
    objects_.emplace(key, std::move(packed));
  }
  index_locked(key, *fresh);
  return previous;
}

ObjectPtr Store::remove(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr previous = unpack(it->second);
  unindex_locked(key, *previous);
  objects_.erase(it);
  return previous;
}

Store::Replacement Store::begin_replace() { return Replacement(*this); }

std::vector<ObjectPtr> Store::replace(std::vector<json> objects) {
  Replacement next = begin_replace();
  for (auto& obj : objects) next.add(*prepare(std::move(obj)));
  return next.commit();
}

Store::Replacement::Replacement(Store& store) : store_(&store) {
  std::lock_guard lock(store.mu_);
  funcs_ = store.index_funcs_;
}

ObjectPtr Store::Replacement::add(const json& object) {
  std::string key = object_key(object);
  if (auto again = fresh_.find(key); again != fresh_.end()) {
    const ObjectPtr earlier = unpack(again->second);
    for (const auto& [name, fn] : funcs_) {
      auto& index = fresh_indexes_[name];
      for (auto& value : fn(*earlier)) {
        auto it = index.find(value);
        if (it == index.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) index.erase(it);
      }
    }
  }
  for (const auto& [name, fn] : funcs_) {
    auto& index = fresh_indexes_[name];
    for (auto& value : fn(object)) index[value].insert(key);
  }
  Packed current;
  {
    std::lock_guard lock(store_->mu_);
    auto it = store_->objects_.find(key);
    if (it != store_->objects_.end()) current = it->second;
  }
  fresh_[std::move(key)] = pack(object);
  return current ? unpack(current) : nullptr;
}

std::vector<ObjectPtr> Store::Replacement::commit() {
  Store& s = *store_;
  std::map<std::string, Packed> previous;
  {
    std::lock_guard lock(s.mu_);
    if (funcs_.size() != s.index_funcs_.size()) {
      // An index was added meanwhile: rebuild them all, decoding one object at a time.
      fresh_indexes_.clear();
      for (const auto& [name, fn] : s.index_funcs_) {
        auto& index = fresh_indexes_[name];
        for (const auto& [key, packed] : fresh_) {
          for (auto& value : fn(*unpack(packed))) index[value].insert(key);
        }
      }
    }
    previous.swap(s.objects_);
    s.objects_ = std::move(fresh_);
    s.indexes_ = std::move(fresh_indexes_);
    s.synced_ = true;
    // Decided under the lock: only what the new content lacks is decoded, outside it.
    for (auto it = previous.begin(); it != previous.end();) {
      it = s.objects_.count(it->first) ? previous.erase(it) : std::next(it);
    }
  }
  fresh_.clear();
  fresh_indexes_.clear();
  s.synced_cv_.notify_all();
  std::vector<ObjectPtr> vanished;
  vanished.reserve(previous.size());
  for (const auto& [key, packed] : previous) vanished.push_back(unpack(packed));
  return vanished;
}

ObjectPtr Store::get(const std::string& key) const {
  Packed packed;
  {
    std::lock_guard lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return nullptr;
    packed = it->second;
  }
  return unpack(packed);
}

ObjectPtr Store::get(const std::string& ns, const std::string& name) const {
  return get(object_key(ns, name));
}

std::vector<ObjectPtr> Store::unpack_all(const std::vector<Packed>& packed) {
  std::vector<ObjectPtr> out;
  out.reserve(packed.size());
  for (const auto& p : packed) out.push_back(unpack(p));
  return out;
}

std::vector<ObjectPtr> Store::list() const {
  std::vector<Packed> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot.reserve(objects_.size());
    for (const auto& [key, packed] : objects_) snapshot.push_back(packed);
  }
  return unpack_all(snapshot);
}

std::vector<ObjectPtr> Store::list_namespace(const std::string& ns) const {
  const std::string prefix = ns + "/";
  std::vector<Packed> snapshot;
  {
    std::lock_guard lock(mu_);
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      snapshot.push_back(it->second);
    }
  }
  return unpack_all(snapshot);
}

std::vector<ObjectPtr> Store::by_index(const std::string& index, const std::string& value) const {
  std::vector<Packed> snapshot;
  {
    std::lock_guard lock(mu_);
    auto idx = indexes_.find(index);
    if (idx == indexes_.end()) return {};
    auto keys = idx->second.find(value);
    if (keys == idx->second.end()) return {};
    for (const auto& key : keys->second) {
      auto it = objects_.find(key);
      if (it != objects_.end()) snapshot.push_back(it->second);
    }
  }
  return unpack_all(snapshot);
}

std::size_t Store::size() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

bool Store::has_synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Store::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return synced_cv_.wait_for(lock, timeout, [&] { return synced_; });
}

}  // namespace okami::kube
