#include "web/acme.h"

#include <stdexcept>

namespace stsctl {

const std::vector<std::string>& acme_clients() {
  static const std::vector<std::string> clients{"certbot", "dehydrated", "acme-client", "lego", "mailcow"};
  return clients;
}

std::string render_acme(const std::string& client, const std::vector<std::string>& hosts) {
  std::string out;
  if (client == "certbot") {
    out = "# certbot: one certificate per MTA-STS policy host, in /etc/letsencrypt/live/<host>/\n";
    for (const auto& host : hosts) {
      out += "certbot certonly --webroot -w /var/www/acme --cert-name " + host + " -d " + host + "\n";
    }
  } else if (client == "dehydrated") {
    out = "# dehydrated domains.txt: one certificate per MTA-STS policy host\n";
    for (const auto& host : hosts) {
      out += host + "\n";
    }
  } else if (client == "acme-client") {
    out =
        "# OpenBSD acme-client.conf: one certificate per MTA-STS policy host, where the\n"
        "# openbsd-httpd template of stsctl render web looks for it\n";
    for (const auto& host : hosts) {
      out += "\ndomain " + host + " {\n" + "\tdomain key \"/etc/ssl/private/" + host + ".key\"\n" +
             "\tdomain full chain certificate \"/etc/ssl/" + host + ".fullchain.pem\"\n" +
             "\tsign with letsencrypt\n}\n";
    }
  } else if (client == "lego") {
    out = "# lego: one certificate per MTA-STS policy host\n";
    for (const auto& host : hosts) {
      out += "lego --domains " + host + " run\n";
    }
  } else if (client == "mailcow") {
    out = "# mailcow.conf: the MTA-STS policy hosts as extra names on mailcow's certificate\n";
    out += "ADDITIONAL_SAN=";
    for (size_t i = 0; i < hosts.size(); ++i) {
      out += (i == 0 ? "" : ",") + hosts[i];
    }
    out += "\n";
  } else {
    std::string allowed;
    for (const auto& name : acme_clients()) {
      allowed += (allowed.empty() ? "" : ", ") + name;
    }
    throw std::invalid_argument("unknown ACME client '" + client + "' (allowed: " + allowed + ")");
  }
  return out;
}

}  // namespace stsctl
