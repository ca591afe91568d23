// `okami-operator backup`: the body of the backup Job. Archives the Chroma persist dir (and the
// client's memory dir) with a manifest and prints a JSON summary for OkamiBackup status.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/backup_archive.h"

namespace okami::app {

namespace po = boost::program_options;

Subcommand backup_command() {
  return {"archive a Chroma data dir (and client memories) with a manifest",
          [](const std::vector<std::string>& args) {
            po::options_description desc("okami-operator backup");
            std::string data, memory, out, ns, name, uid, chroma_version, compression;
            desc.add_options()("help,h", "show this help")(
                "data", po::value(&data)->required(), "Chroma persist dir (holds chroma.sqlite3)")(
                "memory", po::value(&memory), "client memory dir (CREWAI_STORAGE_DIR), archived under memory/")(
                "out", po::value(&out)->required(), "archive file to create (never overwritten)")(
                "stack-namespace", po::value(&ns)->required(), "OkamiStack namespace")(
                "stack-name", po::value(&name)->required(), "OkamiStack name")(
                "stack-uid", po::value(&uid)->required(), "OkamiStack metadata.uid")(
                "chroma-version", po::value(&chroma_version)->required(), "Chroma version that wrote the data")(
                "compression", po::value(&compression)->default_value("none"), "none or gzip");
            po::variables_map vm;
            po::store(po::command_line_parser(args).options(desc).run(), vm);
            if (vm.count("help")) {
              std::cout << desc << "\n";
              return 0;
            }
            po::notify(vm);
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
            auto summary = backup::write_backup(options);
            if (!summary) {
              std::cerr << "okami-operator backup: " << summary.error().describe() << "\n";
              return 1;
            }
            nlohmann::json j = {
                {"archive", summary->archive.string()},
                {"checksumFile", summary->checksum_file.string()},
                {"archiveSha256", summary->archive_sha256},
                {"archiveSize", summary->archive_size},
                {"manifestDigest", backup::manifest_digest(summary->manifest)},
                {"manifest", nlohmann::json::parse(backup::canonical_json(summary->manifest))},
                {"skipped", summary->skipped}};
            std::cout << j.dump() << "\n";
            return 0;
          }};
}

}  // namespace okami::app
