#pragma once
// The names each policy host's certificate needs, in an ACME client's own
// format (`stsctl render acme --client C`). One certificate per host
// mta-sts.D (aliases included), named after the host, which is where the
// render web templates look for it (/etc/letsencrypt/live/mta-sts.D/ for
// certbot, /etc/ssl/mta-sts.D.fullchain.pem for OpenBSD). mailcow takes every
// host as an extra name on its own certificate. Pure.

#include <string>
#include <vector>

namespace stsctl {

/// The clients render_acme() knows, in a fixed order.
const std::vector<std::string>& acme_clients();

/// `hosts`: "mta-sts.D" names, in the order to list them. Throws
/// std::invalid_argument naming the allowed clients for an unknown one.
std::string render_acme(const std::string& client, const std::vector<std::string>& hosts);

}  // namespace stsctl
