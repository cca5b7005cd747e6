//! The repository a lane is on GitHub and what surrounds its runs: its owner and the people
//! who act (users, and teams as required reviewers), its workflows and environments, the
//! GitHub Actions app; and the logins, ids and node ids of them all.

use serde_json::{Value, json};

use super::{CI_FILE, DEPLOY_FILE, OWNER, REPO_BASE, env_id, workflow_id};
use crate::sim::scenario::content::environment;
use crate::sim::scenario::{PROD, Scenario, Ver};

/// A GitHub login from a scenario actor: `dana.kim` → `dana-kim`, `alice@jump1` →
/// `alice-jump1`.
pub(super) fn login(actor: &str) -> String {
    let mut out = String::new();
    for c in actor.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_end_matches('-');
    if t.is_empty() { "ghost" } else { t }.to_string()
}

/// FNV-1a: ids of users and teams from their names.
fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn user_id(login: &str) -> u64 {
    10_000 + name_hash(login) % 90_000_000
}

fn team_id(slug: &str) -> u64 {
    1_000 + name_hash(slug) % 900_000
}

/// A legacy GraphQL node id: base64 of `"{len:03}:{Type}{id}"` (`MDEwOkRlcGxveW1lbnQx` is
/// `010:Deployment1`).
pub(super) fn node_id(kind: &str, id: u64) -> String {
    crate::secrets::base64(format!("{:03}:{kind}{id}", kind.len()).as_bytes())
}

/// `j` with GitHub's hypermedia links: each key is `base` followed by its tail (an RFC 6570
/// template where GitHub sends one: `/gists{/gist_id}`).
pub(super) fn links(mut j: Value, base: &str, tails: &[(&str, &str)]) -> Value {
    for (key, tail) in tails {
        j[*key] = json!(format!("{base}{tail}"));
    }
    j
}

impl Scenario {
    pub(super) fn api_repo(&self, li: usize) -> String {
        format!(
            "{}/repos/{OWNER}/{}",
            self.github_api_base(),
            self.lanes[li].spec.name
        )
    }

    pub(super) fn html_repo(&self, li: usize) -> String {
        format!("{}/{OWNER}/{}", self.base_url, self.lanes[li].spec.name)
    }

    /// A `simple-user`.
    fn user_json(&self, login: &str, kind: &str) -> Value {
        let api = self.github_api_base();
        let html = &self.base_url;
        let id = user_id(login);
        let u = format!("{api}/users/{login}");
        links(
            json!({
                "login": login,
                "id": id,
                "node_id": node_id(kind, id),
                "avatar_url": format!("{html}/avatars/u/{id}"),
                "gravatar_id": "",
                "url": u,
                "html_url": format!("{html}/{login}"),
                "type": kind,
                "site_admin": false,
            }),
            &u,
            &[
                ("followers_url", "/followers"),
                ("following_url", "/following{/other_user}"),
                ("gists_url", "/gists{/gist_id}"),
                ("starred_url", "/starred{/owner}{/repo}"),
                ("subscriptions_url", "/subscriptions"),
                ("organizations_url", "/orgs"),
                ("repos_url", "/repos"),
                ("events_url", "/events{/privacy}"),
                ("received_events_url", "/received_events"),
            ],
        )
    }

    pub(super) fn actor_json(&self, actor: &str, ver: &Ver) -> Value {
        self.user_json(&login(&self.person(actor, ver)), "User")
    }

    /// A required reviewer: people are users (`raj.patel`), the rest teams
    /// (`payments-oncall`).
    pub(super) fn reviewer_json(&self, who: &str) -> Value {
        if who.contains('.') || who.contains('@') {
            return json!({"type": "User", "reviewer": self.user_json(&login(who), "User")});
        }
        let api = self.github_api_base();
        let slug = login(who);
        let id = team_id(&slug);
        json!({"type": "Team", "reviewer": {
            "id": id,
            "node_id": node_id("Team", id),
            "url": format!("{api}/teams/{id}"),
            "html_url": format!("{}/orgs/{OWNER}/teams/{slug}", self.base_url),
            "name": who,
            "slug": slug,
            "description": format!("{who} (required reviewers)"),
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "push",
            "members_url": format!("{api}/teams/{id}/members{{/member}}"),
            "repositories_url": format!("{api}/teams/{id}/repos"),
            "parent": null,
        }})
    }

    pub(super) fn repo_json(&self, li: usize) -> Value {
        let lane = &self.lanes[li];
        let name = &lane.spec.name;
        let id = REPO_BASE + lane.idx;
        let u = self.api_repo(li);
        let html = self.html_repo(li);
        let host = self
            .base_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.base_url)
            .to_string();
        let j = json!({
            "id": id,
            "node_id": node_id("Repository", id),
            "name": name,
            "full_name": format!("{OWNER}/{name}"),
            "owner": self.user_json(OWNER, "Organization"),
            "private": true,
            "html_url": html,
            "description": format!("{name} ({} team)", lane.spec.team),
            "fork": false,
            "url": u,
            "git_url": format!("git://{host}/{OWNER}/{name}.git"),
            "ssh_url": format!("git@{host}:{OWNER}/{name}.git"),
            "default_branch": self.default_branch(li),
        });
        // The hypermedia links of a repository, as GitHub lists them.
        const LINKS: [(&str, &str); 36] = [
            ("archive_url", "/{archive_format}{/ref}"),
            ("assignees_url", "/assignees{/user}"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("branches_url", "/branches{/branch}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("comments_url", "/comments{/number}"),
            ("commits_url", "/commits{/sha}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("contents_url", "/contents/{+path}"),
            ("contributors_url", "/contributors"),
            ("deployments_url", "/deployments"),
            ("downloads_url", "/downloads"),
            ("events_url", "/events"),
            ("forks_url", "/forks"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("issue_events_url", "/issues/events{/number}"),
            ("issues_url", "/issues{/number}"),
            ("keys_url", "/keys{/key_id}"),
            ("labels_url", "/labels{/name}"),
            ("languages_url", "/languages"),
            ("merges_url", "/merges"),
            ("milestones_url", "/milestones{/number}"),
            (
                "notifications_url",
                "/notifications{?since,all,participating}",
            ),
            ("pulls_url", "/pulls{/number}"),
            ("releases_url", "/releases{/id}"),
            ("stargazers_url", "/stargazers"),
            ("statuses_url", "/statuses/{sha}"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("tags_url", "/tags"),
            ("teams_url", "/teams"),
            ("trees_url", "/git/trees{/sha}"),
            ("hooks_url", "/hooks"),
        ];
        links(j, &u, &LINKS)
    }

    pub(super) fn workflow_json(&self, li: usize, deploy: bool) -> Value {
        let id = workflow_id(self.lanes[li].idx, deploy);
        let file = if deploy { DEPLOY_FILE } else { CI_FILE };
        let html = self.html_repo(li);
        let born = self.ts(-(400 + self.lanes[li].idx as i64) * 24 * 3600 * 1000);
        json!({
            "id": id,
            "node_id": node_id("Workflow", id),
            "name": if deploy { "Deploy" } else { "CI" },
            "path": format!(".github/workflows/{file}"),
            "state": "active",
            "created_at": born,
            "updated_at": born,
            "url": format!("{}/actions/workflows/{id}", self.api_repo(li)),
            "html_url": format!("{html}/blob/main/.github/workflows/{file}"),
            "badge_url": format!("{html}/workflows/{}/badge.svg", if deploy { "Deploy" } else { "CI" }),
        })
    }

    pub(super) fn environment_ref_json(&self, li: usize, s: usize) -> Value {
        let id = env_id(self.lanes[li].idx, s);
        let env = environment(s);
        json!({
            "id": id,
            "node_id": node_id("Environment", id),
            "name": env,
            "url": format!("{}/environments/{env}", self.api_repo(li)),
            "html_url": format!("{}/deployments/activity_log?environments_filter={env}", self.html_repo(li)),
        })
    }

    pub(super) fn environment_json(&self, li: usize, s: usize) -> Value {
        let lane = &self.lanes[li];
        let id = env_id(lane.idx, s);
        let mut j = self.environment_ref_json(li, s);
        let born = self.ts(-(300 + lane.idx as i64) * 24 * 3600 * 1000);
        j["created_at"] = json!(born);
        j["updated_at"] = json!(born);
        let mut rules = vec![json!({
            "id": id * 4 + 3,
            "node_id": node_id("Gate", id * 4 + 3),
            "type": "branch_policy",
        })];
        if s == PROD && !lane.spec.prod_reviewers.is_empty() {
            rules.insert(
                0,
                json!({
                    "id": id * 4 + 1,
                    "node_id": node_id("Gate", id * 4 + 1),
                    "prevent_self_review": false,
                    "type": "required_reviewers",
                    "reviewers": lane.spec.prod_reviewers.iter().map(|r| self.reviewer_json(r)).collect::<Vec<_>>(),
                }),
            );
        }
        j["protection_rules"] = json!(rules);
        j["deployment_branch_policy"] =
            json!({"protected_branches": true, "custom_branch_policies": false});
        j
    }

    /// The GitHub Actions app, which owns the check runs of workflows.
    pub(super) fn actions_app_json(&self) -> Value {
        json!({
            "id": 15368,
            "slug": "github-actions",
            "node_id": "MDM6QXBwMTUzNjg=",
            "owner": self.user_json("github", "Organization"),
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": format!("{}/apps/github-actions", self.base_url),
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2019-12-10T19:04:12Z",
            "permissions": {
                "actions": "write",
                "checks": "write",
                "contents": "write",
                "deployments": "write",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "single_file": "write",
                "statuses": "write",
            },
            "events": ["check_run", "check_suite", "push", "workflow_dispatch"],
        })
    }
}
