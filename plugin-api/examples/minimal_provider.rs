//! The smallest orb provider: machines that exist only in this process's memory. A real
//! provider calls its cloud in these three methods; every other operation has a default.
//! `orb plugins new NAME` starts a vendor crate from this file.

use std::collections::BTreeMap;
use std::sync::Mutex;

use orb_plugin_api::*;

#[derive(Default)]
struct Minimal {
    machines: Mutex<BTreeMap<String, Machine>>,
}

impl Provider for Minimal {
    fn provision_machines(&self, r: ProvisionRequest) -> Result<ProvisionResult, ProviderError> {
        let mut machines = self.machines.lock().expect("not poisoned");
        let started = (0..r.count)
            .map(|n| format!("{}-{n}", r.request_id))
            .map(|id| {
                let new = || Machine::new(&id, MachineState::Running).with_tags(r.tags("minimal"));
                machines.entry(id.clone()).or_insert_with(new).clone()
            })
            .collect();
        Ok(ProvisionResult::started(started))
    }

    fn terminate_machines(&self, r: TerminateRequest) -> Result<TerminateResult, ProviderError> {
        let mut machines = self.machines.lock().expect("not poisoned");
        let (gone, live): (Vec<&str>, Vec<&str>) = r
            .machine_ids()
            .partition(|id| machines.remove(*id).is_none());
        let mut result = TerminateResult::terminating(live);
        result.already_gone = gone.into_iter().map(str::to_owned).collect();
        Ok(result)
    }

    fn machine_status(&self, q: StatusQuery) -> Result<StatusResult, ProviderError> {
        let machines = self.machines.lock().expect("not poisoned");
        let wanted = |m: &&Machine| {
            q.machine_ids.contains(&m.machine_id)
                || m.request_id
                    .as_ref()
                    .is_some_and(|r| q.request_ids.contains(r))
        };
        Ok(StatusResult {
            machines: machines.values().filter(wanted).cloned().collect(),
        })
    }
}

/// Builds the provider (the constructor `export_plugin!` names).
pub fn build_provider(_: ProviderContext) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(Box::new(Minimal::default()))
}

export_plugin! {
    name: "minimal",
    version: env!("CARGO_PKG_VERSION"),
    providers: { "minimal" => build_provider },
}
