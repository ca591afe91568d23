// `okami-operator backup`: the body of the backup Job. Archives the Chroma persist dir (and the
// client's memory dir) with a manifest, prints a JSON summary, and leaves a short report (the
// archive's checksum and source) as its termination message for the operator. With
// --object-store-endpoint the archive is streamed into the store instead of --out (no local copy:
// only the database snapshot, in --temp-dir), its manifest.json written last (stored_backup.h).
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/job_report.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "app/object_store_options.h"
#include "okami/backup/archive.h"
#include "okami/backup/stored_backup.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand backup_command() {
  return {"archive a Chroma data dir (and client memories) with a manifest",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator backup");
            std::string data, memory, out, ns, name, uid, chroma_version, compression, report, temp_dir;
            ObjectStoreOptions store_options;
            desc.add_options()("help,h", "show this help")(
                "data", po::value(&data)->required(), "Chroma persist dir (holds chroma.sqlite3)")(
                "memory", po::value(&memory), "client memory dir (CREWAI_STORAGE_DIR), archived under memory/")(
                "out", po::value(&out), "archive file to create (never overwritten); or the object store")(
                "stack-namespace", po::value(&ns)->required(), "OkamiStack namespace")(
                "stack-name", po::value(&name)->required(), "OkamiStack name")(
                "stack-uid", po::value(&uid)->required(), "OkamiStack metadata.uid")(
                "chroma-version", po::value(&chroma_version)->required(), "Chroma version that wrote the data")(
                "compression", po::value(&compression)->default_value("none"), "none or gzip")(
                "termination-log", po::value(&report),
                "file that receives the short report for the operator (a Job's /dev/termination-log)")(
                "temp-dir", po::value(&temp_dir), "object store: where the database snapshot is taken (default: TMPDIR)");
            store_options.add_to(desc);
            po::variables_map vm;
            if (auto done = parse_or_help(desc, args, vm)) return *done;
            if (out.empty() == !store_options.enabled()) {
              std::cerr << "okami-operator backup: give exactly one of --out and --object-store-endpoint\n";
              return 2;
            }
            if (compression != "none" && compression != "gzip") {
              std::cerr << "okami-operator backup: --compression must be none or gzip\n";
              return 2;
            }
            common::SystemClock clock;
            backup::BackupOptions options;
            options.data_dir = data;
            if (!memory.empty()) options.memory_dir = memory;
            options.out = out;
            options.stack = {ns, name, uid};
            options.chroma_version = chroma_version;
            options.taken_at = common::format_rfc3339(clock.wall_now());
            options.compression = compression == "gzip" ? backup::Compression::kGzip : backup::Compression::kNone;
            options.temp_dir = temp_dir;
            std::string location;  // where the archive went, for the report
            auto summary = [&]() -> common::Result<backup::BackupSummary> {
              if (!store_options.enabled()) {
                auto written = backup::write_backup(options);
                if (written) location = written->archive.string();
                return written;
              }
              auto store = store_options.open(clock);
              if (!store) return tl::unexpected(store.error());
              auto stored = backup::upload_backup(**store, store_options.backup_name, options);
              if (!stored) return tl::unexpected(stored.error());
              location = stored->archive_url;
              return std::move(stored->backup);
            }();
            if (!summary) {
              std::cerr << "okami-operator backup: " << summary.error().describe() << "\n";
              std::string why = "archiving failed: " + summary.error().describe();
              if (why.size() > 1024) why.resize(1024);
              (void)write_report(report, nlohmann::json{{"message", why}}.dump());
              return 1;
            }
            nlohmann::json j = {
                {"archive", location},
                {"checksumFile", summary->checksum_file.string()},
                {"archiveSha256", summary->archive_sha256},
                {"archiveSize", summary->archive_size},
                {"manifestDigest", backup::manifest_digest(summary->manifest)},
                {"manifest", nlohmann::json::parse(backup::canonical_json(summary->manifest))},
                {"skipped", summary->skipped}};
            if (store_options.enabled()) j.erase("checksumFile");  // manifest.json records it
            std::cout << j.dump() << "\n";
            if (!report.empty()) {
              const auto& m = summary->manifest;
              nlohmann::json status = {
                  {"archive",
                   {{"path", location},
                    {"sizeBytes", summary->archive_size},
                    {"sha256", summary->archive_sha256}}},
                  {"source", source_report(m)},
                  {"message", "archived " + std::to_string(m.files.size()) + " files, " +
                                  std::to_string(summary->archive_size) + " bytes"}};
              fit_source(status);
              if (auto s = write_report(report, status.dump()); !s) {
                std::cerr << "okami-operator backup: " << s.error().describe() << "\n";
                return 1;
              }
            }
            return 0;
          }};
}

}  // namespace okami::app
