//! `orb scripts DIR`: writes Host Factory's five scripts (and the `invoke_orb.sh` they share)
//! where Host Factory can reach them, pointing at this `orb` binary, so that a site sets
//! `scriptPath` in `hostProviderPlugins.json` to `DIR` and nothing else.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context as _;

use super::CommandOutput;

/// The scripts, as `config/hostfactory/scripts/` holds them.
const SCRIPTS: [(&str, &str); 6] = [
    (
        "invoke_orb.sh",
        include_str!("../../../config/hostfactory/scripts/invoke_orb.sh"),
    ),
    (
        "getAvailableTemplates.sh",
        include_str!("../../../config/hostfactory/scripts/getAvailableTemplates.sh"),
    ),
    (
        "requestMachines.sh",
        include_str!("../../../config/hostfactory/scripts/requestMachines.sh"),
    ),
    (
        "getRequestStatus.sh",
        include_str!("../../../config/hostfactory/scripts/getRequestStatus.sh"),
    ),
    (
        "requestReturnMachines.sh",
        include_str!("../../../config/hostfactory/scripts/requestReturnMachines.sh"),
    ),
    (
        "getReturnRequests.sh",
        include_str!("../../../config/hostfactory/scripts/getReturnRequests.sh"),
    ),
];

/// The line of `invoke_orb.sh` that names the binary it was written for.
const INSTALLED_LINE: &str = "installed_orb=\"\"";

/// Writes the scripts into `dir` (made if missing), `invoke_orb.sh` naming `orb` as the binary
/// to run when `ORB_BIN` is unset. A script that exists with other content is replaced only
/// with `force`; nothing is written when one would be refused.
pub fn write(dir: &Path, orb: &Path, force: bool) -> anyhow::Result<CommandOutput> {
    let orb = orb
        .canonicalize()
        .with_context(|| format!("cannot resolve orb's own path {}", orb.display()))?;
    let orb_text = orb
        .to_str()
        .filter(|p| !p.contains('\''))
        .with_context(|| {
            format!(
                "orb's path {} cannot be written into a shell script",
                orb.display()
            )
        })?;
    let scripts: Vec<(&str, String)> = SCRIPTS
        .iter()
        .map(|(name, text)| {
            let text = match *name {
                "invoke_orb.sh" => {
                    text.replacen(INSTALLED_LINE, &format!("installed_orb='{orb_text}'"), 1)
                }
                _ => (*text).to_owned(),
            };
            (*name, text)
        })
        .collect();
    let differing: Vec<&str> = scripts
        .iter()
        .filter(|(name, text)| {
            std::fs::read_to_string(dir.join(name)).is_ok_and(|existing| existing != *text)
        })
        .map(|(name, _)| *name)
        .collect();
    if !differing.is_empty() && !force {
        anyhow::bail!(
            "{} in {} differ from orb's and were left as they are: pass --force to replace them",
            differing.join(", "),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    for (name, text) in &scripts {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(CommandOutput {
        value: serde_json::json!({
            "scripts": dir,
            "orb": orb,
            "written": scripts.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            "next": format!("set scriptPath in Host Factory's hostProviderPlugins.json to {}", dir.display()),
        }),
        success: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_name_the_binary_and_replace_nothing_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("hf");
        let orb = dir.path().join("orb");
        std::fs::write(&orb, "").unwrap();
        write(&scripts, &orb, false).unwrap();
        let invoke = std::fs::read_to_string(scripts.join("invoke_orb.sh")).unwrap();
        let named = format!("installed_orb='{}'", orb.canonicalize().unwrap().display());
        assert!(invoke.contains(&named), "{invoke}");
        let mode = std::fs::metadata(scripts.join("requestMachines.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        // Again: the same, so nothing to refuse.
        write(&scripts, &orb, false).unwrap();
        // A script an operator changed is kept unless forced.
        std::fs::write(scripts.join("getRequestStatus.sh"), "#!/bin/sh\n").unwrap();
        let e = write(&scripts, &orb, false).unwrap_err().to_string();
        assert!(
            e.contains("getRequestStatus.sh") && e.contains("--force"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(scripts.join("getRequestStatus.sh")).unwrap(),
            "#!/bin/sh\n"
        );
        write(&scripts, &orb, true).unwrap();
        assert!(std::fs::read_to_string(scripts.join("getRequestStatus.sh"))
            .unwrap()
            .contains("orb_call=getRequestStatus"));
    }
}
