// The --object-store-* options shared by the commands that read or write backups in the store
// (backup, verify-backup, verify-migration, restore, remove-archive, list-backups): where the store
// is and the files that hold its keys. The keys are read from files (a mounted Secret), never taken from the
// command line, where any user of the machine could read them in the process list.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "okami/backup/store/object_store.h"

namespace okami::app {

struct ObjectStoreOptions {
  std::string endpoint, bucket, prefix, region = "us-east-1";
  std::string access_key_file, secret_key_file, ca_file;
  std::string backup_name;

  // Adds the options to `desc`; --backup-name only when the command works on one backup.
  void add_to(boost::program_options::options_description& desc, bool with_backup_name = true);
  // True when --object-store-endpoint was given.
  bool enabled() const { return !endpoint.empty(); }
  // Reads the key files and opens the store for one backup (--backup-name required). Errors:
  // kInvalidArgument (a missing option, an empty key file, a bad config), kNotFound/kIo for a key
  // file that cannot be read.
  common::Result<std::unique_ptr<backup::ObjectStore>> open(common::Clock& clock) const;
  // The same without a backup name: for commands that work on the whole store (list-backups).
  common::Result<std::unique_ptr<backup::ObjectStore>> open_store(common::Clock& clock) const;
};

}  // namespace okami::app
