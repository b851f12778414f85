#pragma once
// The plan of a deployment as people and programs read it: text (terminal),
// JSON (--json / --format json) and Markdown (pull requests). Each shows
// everything apply would do or refuse: record changes per zone, id bumps,
// adoptions, policy files, and what each guard blocks.

#include "deploy/deployment.h"

#include <string>

namespace stsctl {

std::string format_plan_text(const Deployment& deployment);
std::string format_plan_json(const Deployment& deployment);
std::string format_plan_markdown(const Deployment& deployment);

/// "Plan: 1 to create, 0 to update, 0 to delete in 1 zone; 1 policy id bump."
std::string plan_summary(const Deployment& deployment);

}  // namespace stsctl
