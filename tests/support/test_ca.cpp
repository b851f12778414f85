#include "support/test_ca.h"

#include <chrono>
#include <ctime>
#include <stdexcept>

namespace stsctl::test {

namespace {

void run_openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = run_command(argv);
  if (result.exit_code != 0) {
    std::string command;
    for (const auto& arg : argv) {
      command += (command.empty() ? "" : " ") + arg;
    }
    throw std::runtime_error("'" + command + "' failed (exit " + std::to_string(result.exit_code) +
                             "): " + result.err);
  }
}

// openssl ca wants GeneralizedTime: YYYYMMDDHHMMSSZ.
std::string openssl_time(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d%H%M%SZ", &tm);
  return buffer;
}

}  // namespace

TestCa::TestCa(const std::string& common_name) : m_dir("ca") {
  m_ca_cert = m_dir.file("ca.crt");
  m_ca_key = m_dir.file("ca.key");
  m_config = m_dir.file("ca.cnf");
  write_file(m_dir.file("index.txt"), "");
  write_file(m_dir.file("serial"), "1000\n");
  write_file(m_dir.file("newcerts/.keep"), "");
  run_openssl({"req",
               "-x509",
               "-new",
               "-newkey",
               "ec",
               "-pkeyopt",
               "ec_paramgen_curve:prime256v1",
               "-nodes",
               "-keyout",
               m_ca_key,
               "-out",
               m_ca_cert,
               "-days",
               "30",
               "-subj",
               "/CN=" + common_name,
               "-addext",
               "basicConstraints=critical,CA:TRUE",
               "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"});
  // `openssl ca` (unlike `x509 -req`) takes explicit start and end dates,
  // which is how expired and not-yet-valid leaves are made without faketime.
  write_file(m_config,
             "[ ca ]\n"
             "default_ca = test_ca\n"
             "[ test_ca ]\n"
             "database = " +
                 m_dir.file("index.txt") + "\n" + "new_certs_dir = " + m_dir.file("newcerts") + "\n" +
                 "certificate = " + m_ca_cert + "\n" + "private_key = " + m_ca_key + "\n" +
                 "serial = " + m_dir.file("serial") + "\n" +
                 "default_md = sha256\n"
                 "policy = policy_any\n"
                 "unique_subject = no\n"
                 "default_days = 7\n"
                 "[ policy_any ]\n"
                 "commonName = supplied\n");
}

TestCa::Leaf TestCa::issue(const std::vector<std::string>& dns_names, Validity validity) {
  if (dns_names.empty()) {
    throw std::invalid_argument("TestCa::issue needs at least one DNS name");
  }
  std::string base = m_dir.file("leaf-" + std::to_string(m_next++));
  Leaf leaf{base + ".crt", base + ".key"};
  std::string san;
  for (const auto& name : dns_names) {
    san += (san.empty() ? "DNS:" : ",DNS:") + name;
  }
  write_file(base + ".ext", "subjectAltName=" + san +
                                "\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                "extendedKeyUsage=serverAuth\n");
  run_openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", leaf.key_file, "-out", base + ".csr", "-subj", "/CN=" + dns_names.front()});
  auto now = std::chrono::system_clock::now();
  std::string start, end;
  switch (validity) {
    case Validity::Valid:
      start = openssl_time(now - std::chrono::hours(1));
      end = openssl_time(now + std::chrono::hours(24 * 7));
      break;
    case Validity::Expired:
      start = "20200101000000Z";
      end = "20200201000000Z";
      break;
    case Validity::NotYetValid:
      start = "20990101000000Z";
      end = "20990201000000Z";
      break;
  }
  run_openssl({"ca", "-batch", "-notext", "-config", m_config, "-in", base + ".csr", "-out", leaf.cert_file,
               "-extfile", base + ".ext", "-startdate", start, "-enddate", end});
  return leaf;
}

}  // namespace stsctl::test
