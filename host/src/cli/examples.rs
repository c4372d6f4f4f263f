//! One example for each command's `--help`, in one table, set on the command tree built from
//! the CLI's definitions; a test holds every command to having one.

use clap::Command;

/// Each command's path below `orb` and its example.
const EXAMPLES: &[(&str, &str)] = &[
    ("hostfactory getAvailableTemplates", "orb hostfactory getAvailableTemplates"),
    ("hostfactory requestMachines", "orb hostfactory requestMachines -f input.json   # {\"template\": {\"templateId\": \"Small\", \"machineCount\": 2}}"),
    ("hostfactory getRequestStatus", "orb hostfactory getRequestStatus -f input.json   # {\"requests\": [{\"requestId\": \"req-...\"}]}"),
    ("hostfactory requestReturnMachines", "orb hostfactory requestReturnMachines -f input.json   # {\"machines\": [{\"name\": \"ip-10-0-0-5\", \"machineId\": \"i-...\"}]}"),
    ("hostfactory getReturnRequests", "orb hostfactory getReturnRequests -f input.json   # {\"machines\": [{\"name\": \"ip-10-0-0-5\"}]}"),
    ("templates list", "orb templates list --provider aws-eu --filter providerApi=EC2Fleet"),
    ("templates show", "orb templates show Small --format json"),
    ("templates validate", "orb templates validate Small"),
    ("templates generate", "orb templates generate --provider-api EC2Fleet"),
    ("templates add", "orb templates add big.json"),
    ("templates update", "orb templates update Small --set maxNumber=20 --unset keyName"),
    ("templates delete", "orb templates delete Small"),
    ("requests list", "orb requests list --status running --filter templateId=Small --limit 20"),
    ("requests show", "orb requests show req-0b7c... req-91d2..."),
    ("requests watch", "orb requests watch req-0b7c... --timeout 600"),
    ("requests cancel", "orb requests cancel req-0b7c..."),
    ("machines list", "orb machines list --status running --filter name=~^ip-10-"),
    ("machines show", "orb machines show i-0abc..."),
    ("machines request", "orb machines request Small 2 --wait   (or --template Small --count 2; --dry-run checks only)"),
    ("machines stop", "orb machines stop i-0abc... i-0def..."),
    ("machines start", "orb machines start i-0abc..."),
    ("machines return", "orb machines return i-0abc... ip-10-0-0-7 --wait   (or --request-id req-...; --dry-run checks only)"),
    ("serve", "orb serve --host 0.0.0.0 --port 8000   # needs server.auth off loopback"),
    ("plugins list", "orb plugins list --format json"),
    ("plugins verify", "orb plugins verify"),
    ("plugins new", "orb plugins new acme-cloud --dir ~/src"),
    ("providers list", "orb providers list"),
    ("providers health", "orb providers health --name aws-eu"),
    ("providers infrastructure", "orb providers infrastructure --name aws-eu"),
    ("infra discover", "orb infra discover --name aws-eu --all --format json"),
    ("infra show", "orb infra show --all"),
    ("infra validate", "orb infra validate awsprov_templates.json"),
    ("config show", "orb config show --format yaml"),
    ("migrate from-orb", "orb migrate from-orb /opt/orb/work   # ORB's work or root directory, or its store"),
    ("init", "orb init --region eu-west-1 --credentials profile --profile hpc"),
    ("scripts", "orb scripts /opt/symphony/hostfactory/providers/orb/scripts"),
    ("doctor", "orb doctor --scripts /opt/symphony/hostfactory/providers/orb/scripts"),
    ("mcp serve", "orb mcp serve --role viewer"),
    ("completions", "orb completions bash > /etc/bash_completion.d/orb"),
    ("man", "orb man --dir /usr/local/share/man/man1"),
];

/// `command` with each command's example after its help.
pub fn with_examples(command: Command) -> Command {
    EXAMPLES.iter().fold(command, |command, (path, example)| {
        set(command, &path.split(' ').collect::<Vec<_>>(), example)
    })
}

fn set(command: Command, path: &[&str], example: &str) -> Command {
    match path.split_first() {
        None => command.after_help(format!("Example:\n  {example}")),
        Some((first, rest)) => command.mut_subcommand(*first, |sub| set(sub, rest, example)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command with no subcommands, by its path below `orb`.
    fn leaves(command: &Command, prefix: &str, out: &mut Vec<String>) {
        let subs: Vec<&Command> = command
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push(prefix.trim().to_owned());
        }
        for sub in subs {
            leaves(sub, &format!("{prefix} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_command_has_an_example_and_every_example_a_command() {
        let mut all = Vec::new();
        leaves(&super::super::Cli::command(), "", &mut all);
        let named: Vec<&str> = EXAMPLES.iter().map(|(p, _)| *p).collect();
        for leaf in &all {
            assert!(
                named.contains(&leaf.as_str()),
                "`orb {leaf}` has no example"
            );
        }
        for path in named {
            assert!(all.iter().any(|l| l == path), "{path} is no command");
        }
        let helped = with_examples(super::super::Cli::command());
        let shown = helped
            .find_subcommand("machines")
            .and_then(|m| m.find_subcommand("request"))
            .and_then(|r| r.get_after_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(shown.contains("orb machines request Small 2"), "{shown}");
    }
}
