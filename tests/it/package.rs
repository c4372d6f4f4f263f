//! orb's Debian package, as `scripts/package-deb` builds it from this build: its contents and
//! maintainer scripts read with `dpkg-deb`, then unpacked into a temporary root (`dpkg -x`),
//! where `orb doctor` and Host Factory's whole cycle run against moto from the installed
//! layout.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{profile_dir, repo_root, Moto, Run};

/// Runs `program args...`; fails the test unless it succeeds.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The unpacked package, run as Host Factory runs it: `orb` on PATH, Host Factory's
/// directories, the AWS instance pointed at `moto` through orb's variables.
struct Installed<'a> {
    root: &'a Path,
    hf: &'a Path,
    moto: &'a Moto,
}

impl Installed<'_> {
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.root.join("usr/bin").display()),
            )
            .env("HF_PROVIDER_NAME", "aws-local")
            .env("HF_PROVIDER_CONFDIR", self.hf.join("conf"))
            .env("HF_PROVIDER_WORKDIR", self.hf.join("work"))
            .env("HF_PROVIDER_LOGDIR", self.hf.join("log"))
            .env("ORB_AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env("ORB_AWS_ACCESS_KEY_ID", "testing")
            .env("ORB_AWS_SECRET_ACCESS_KEY", "testing")
            .current_dir("/");
        command
    }

    fn outcome(command: &mut Command) -> Run {
        let out = command.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn orb(&self, args: &[&str]) -> Run {
        Self::outcome(self.command(&self.root.join("usr/bin/orb")).args(args))
    }

    /// A Host Factory call through the installed script.
    fn call(&self, script: &str, input: &Value) -> Value {
        let file = self.hf.join(format!("in-{script}.json"));
        std::fs::write(&file, input.to_string()).unwrap();
        let script = self
            .root
            .join("usr/share/orb/hostfactory/scripts")
            .join(format!("{script}.sh"));
        Self::outcome(self.command(&script).args(["-f", file.to_str().unwrap()]))
            .expect_code(0)
            .json()
    }

    fn settle(&self, request_id: &str) -> Value {
        let started = Instant::now();
        loop {
            let status = self.call(
                "getRequestStatus",
                &json!({"requests": [{"requestId": request_id}]}),
            )["requests"][0]
                .clone();
            if status["status"] != "running" {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{status}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

#[test]
fn the_debian_package_installs_a_layout_that_runs_host_factory_against_moto() {
    let out = tempfile::tempdir().unwrap();
    let mut build = Command::new(repo_root().join("scripts/package-deb"));
    if profile_dir().ends_with("debug") {
        build.arg("--debug");
    }
    let built = build.arg(out.path()).output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = String::from_utf8_lossy(&built.stdout).trim().to_owned();

    // The control file and the contents.
    let info = run("dpkg-deb", &["-I", &deb]);
    for field in ["Package: orb", "Architecture: ", "Depends: libc6 (>= 2."] {
        assert!(info.contains(field), "{field}: {info}");
    }
    let contents = run("dpkg-deb", &["-c", &deb]);
    for path in [
        "./usr/bin/orb",
        "./usr/lib/orb/plugins/liborb_provider_aws.so",
        "./etc/orb/config.json",
        "./usr/share/orb/hostfactory/scripts/requestMachines.sh",
        "./usr/share/orb/hostfactory/scripts/invoke_orb.sh",
        "./lib/systemd/system/orb.service",
        "./usr/share/bash-completion/completions/orb",
        "./usr/share/zsh/vendor-completions/_orb",
        "./usr/share/fish/vendor_completions.d/orb.fish",
        "./usr/share/man/man1/orb.1.gz",
        "./usr/share/man/man1/orb-machines-request.1.gz",
    ] {
        assert!(
            contents.lines().any(|l| l.ends_with(path)),
            "{path} missing:\n{contents}"
        );
    }
    assert!(
        !contents.contains("liborb_provider_mock"),
        "the test provider is not shipped"
    );
    // The maintainer scripts: present, executable, valid shell; the configuration a conffile.
    let control = out.path().join("control");
    run("dpkg-deb", &["-e", &deb, control.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles")).unwrap(),
        "/etc/orb/config.json\n"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.join(script);
        run("sh", &["-n", path.to_str().unwrap()]);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o755, 0o755, "{script}");
    }
    let postrm = std::fs::read_to_string(control.join("postrm")).unwrap();
    assert!(
        !postrm.contains("rm -rf /var/lib/orb"),
        "a purge keeps the state"
    );
    let unit = std::fs::read_to_string(repo_root().join("config/systemd/orb.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/orb serve"), "{unit}");

    // Unpacked into a temporary root, configured as Host Factory would.
    let root = out.path().join("root");
    run("dpkg", &["-x", &deb, root.to_str().unwrap()]);

    // The interface crate ships, standalone: a provider `orb plugins new` makes from the
    // installed orb names it, and cargo resolves it outside any workspace.
    let api = root.join("usr/share/orb/orb-plugin-api");
    let manifest = std::fs::read_to_string(api.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("workspace"), "{manifest}");
    let scaffold = out.path().join("acme");
    let made = Command::new(root.join("usr/bin/orb"))
        .args([
            "plugins",
            "new",
            "acme",
            "--dir",
            scaffold.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let written = std::fs::read_to_string(scaffold.join("Cargo.toml")).unwrap();
    let api_path = api.canonicalize().unwrap().display().to_string();
    assert!(
        written.contains(&format!("path = {api_path:?}")),
        "{written}"
    );
    std::fs::copy(repo_root().join("Cargo.lock"), scaffold.join("Cargo.lock")).unwrap();
    // Resolved for this machine's platform, from what the workspace's build fetched.
    let resolved = Command::new("cargo")
        .args(["tree", "--offline", "-e", "normal", "--target"])
        .arg(format!("{}-unknown-linux-gnu", std::env::consts::ARCH))
        .current_dir(&scaffold)
        .output()
        .unwrap();
    assert!(
        resolved.status.success(),
        "{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    let hf = tempfile::tempdir().unwrap();
    for dir in ["conf", "work", "log"] {
        std::fs::create_dir_all(hf.path().join(dir)).unwrap();
    }
    std::fs::copy(
        root.join("etc/orb/config.json"),
        hf.path().join("conf/config.json"),
    )
    .unwrap();
    let moto = Moto::start();
    let s = &moto.seed;
    std::fs::write(
        hf.path().join("conf/aws-localprov_templates.json"),
        json!({"templates": [{
            "templateId": "Fleet", "providerApi": "EC2Fleet", "fleetType": "instant",
            "maxNumber": 10, "vmTypes": {"t3.medium": 1}, "imageId": s["image_parameter"],
            "subnetIds": s["subnets"], "securityGroupIds": [s["security_group"]]
        }]})
        .to_string(),
    )
    .unwrap();
    let installed = Installed {
        root: &root,
        hf: hf.path(),
        moto: &moto,
    };

    let doctor = installed.orb(&["doctor", "--format", "json"]);
    doctor.expect_code(0);
    let checks = doctor.json()["checks"].clone();
    let scripts = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "host factory scripts")
        .unwrap();
    assert!(
        scripts["detail"]
            .as_str()
            .unwrap()
            .contains("share/orb/hostfactory/scripts"),
        "{checks}"
    );

    let templates = installed.call("getAvailableTemplates", &json!({}));
    assert_eq!(templates["templates"][0]["templateId"], "Fleet");
    let asked = installed.call(
        "requestMachines",
        &json!({"template": {"templateId": "Fleet", "machineCount": 2}}),
    );
    let done = installed.settle(asked["requestId"].as_str().unwrap());
    assert_eq!(done["status"], "complete", "{done}");
    let machines: Vec<Value> = done["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"name": m["name"], "machineId": m["machineId"]}))
        .collect();
    assert_eq!(machines.len(), 2, "{done}");
    let back = installed.call("requestReturnMachines", &json!({"machines": machines}));
    let gone = installed.settle(back["requestId"].as_str().unwrap());
    assert_eq!(gone["status"], "complete", "{gone}");
}

#[test]
fn a_package_is_made_from_a_named_build_without_building() {
    // A build directory without orb's files: refused with what to do. No Rust toolchain is
    // on the PATH it runs with: it builds nothing.
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let refused = Command::new(repo_root().join("scripts/package-deb"))
        .args([
            "--from",
            empty.path().to_str().unwrap(),
            out.path().to_str().unwrap(),
        ])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("orb is missing") && why.contains("--from"),
        "{why}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}
