//! What moto cannot show, checked through the real SDK clients with an HTTP client that answers
//! each call with a canned response and records the requests: the order of calls that returns
//! machines from a `maintain` fleet, a cancel that cannot delete a fleet, and retries of
//! throttled calls.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use orb_plugin_api::ErrorKind;

use crate::clients::{clients, Clients};
use crate::config::AwsConfig;
use crate::context::Ctx;
use crate::handlers::{Ec2Fleet, Handler, Release};
use crate::instances::by_ids;
use crate::pacing::{Pacer, PacingConfig};

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

/// Answers calls with canned (status, body) responses, in order, then by their action, and
/// records request bodies.
#[derive(Debug, Clone, Default)]
struct Replay {
    responses: Arc<Mutex<VecDeque<(u16, String)>>>,
    by_action: Arc<Vec<(&'static str, String)>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Replay {
    fn bodies(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl HttpConnector for Replay {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        self.requests.lock().unwrap().push(body.clone());
        let queued = self.responses.lock().unwrap().pop_front();
        let (status, body) = queued
            .or_else(|| {
                let action = action_of(&body);
                self.by_action
                    .iter()
                    .find(|(a, _)| *a == action)
                    .map(|(_, answer)| (200, answer.clone()))
            })
            .unwrap_or_else(|| panic!("a canned response for every call: {body}"));
        let status = StatusCode::try_from(status).expect("a valid status");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(body))))
    }
}

impl HttpClient for Replay {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn replay(responses: Vec<(u16, String)>) -> (Replay, Clients) {
    connect(Replay {
        responses: Arc::new(Mutex::new(responses.into())),
        ..Default::default()
    })
}

/// SDK clients whose calls `http` answers.
fn connect(http: Replay) -> (Replay, Clients) {
    let sdk = SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .http_client(http.clone())
        .behavior_version(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .build();
    let unpaced = Pacer::new(
        std::path::Path::new("/nonexistent"),
        "us-east-1",
        PacingConfig {
            enabled: false,
            ..PacingConfig::default()
        },
    );
    (http, clients(&sdk, unpaced))
}

#[tokio::test]
async fn returning_k_machines_of_a_maintain_fleet_terminates_exactly_those_and_launches_none() {
    let (http, clients) = replay(vec![
        (200, format!(
            "<DescribeFleetsResponse {NS}><requestId>1</requestId><fleetSet><item>\
             <fleetId>fleet-1</fleetId><type>maintain</type>\
             <targetCapacitySpecification><totalTargetCapacity>3</totalTargetCapacity></targetCapacitySpecification>\
             <launchTemplateConfigs><item><overrides><item><instanceType>t3.medium</instanceType>\
             <weightedCapacity>1.0</weightedCapacity></item></overrides></item></launchTemplateConfigs>\
             </item></fleetSet></DescribeFleetsResponse>")),
        (200, format!("<ModifyFleetResponse {NS}><requestId>2</requestId><return>true</return></ModifyFleetResponse>")),
        (200, format!(
            "<TerminateInstancesResponse {NS}><requestId>3</requestId><instancesSet><item>\
             <instanceId>i-1</instanceId><currentState><code>32</code><name>shutting-down</name></currentState>\
             </item></instancesSet></TerminateInstancesResponse>")),
        (200, format!(
            "<DescribeFleetInstancesResponse {NS}><requestId>4</requestId><fleetId>fleet-1</fleetId>\
             <activeInstanceSet><item><instanceId>i-2</instanceId></item><item><instanceId>i-3</instanceId></item>\
             </activeInstanceSet></DescribeFleetInstancesResponse>")),
    ]);
    let config = AwsConfig::default();
    let ctx = Ctx {
        clients: &clients,
        config: &config,
        instance: "aws-test",
    };
    Ec2Fleet
        .release(&ctx, &of_request_1(&["i-1".to_owned()]))
        .await
        .unwrap();

    let calls = http.bodies();
    // The target is lowered before anything is terminated, and the fleet is kept (2 left).
    assert_eq!(
        actions(&http),
        [
            "DescribeFleets",
            "ModifyFleet",
            "TerminateInstances",
            "DescribeFleetInstances"
        ]
    );
    let modify = &calls[1];
    assert!(
        modify.contains("TargetCapacitySpecification.TotalTargetCapacity=2"),
        "{modify}"
    );
    assert!(
        modify.contains("ExcessCapacityTerminationPolicy=no-termination"),
        "{modify}"
    );
    let terminate = &calls[2];
    assert!(terminate.contains("InstanceId.1=i-1"), "{terminate}");
    assert!(
        !terminate.contains("InstanceId.2"),
        "exactly the returned machine: {terminate}"
    );
}

/// An instant fleet, as DescribeFleets describes it.
fn instant_fleet() -> (u16, String) {
    (
        200,
        format!(
            "<DescribeFleetsResponse {NS}><requestId>1</requestId><fleetSet><item>\
         <fleetId>fleet-1</fleetId><type>instant</type></item></fleetSet></DescribeFleetsResponse>"
        ),
    )
}

/// The request's instances, each `(id, state code, state)`, as DescribeInstances answers.
fn instances(states: &[(&str, u16, &str)]) -> (u16, String) {
    let items: String = states
        .iter()
        .map(|(id, code, name)| {
            format!(
                "<item><instanceId>{id}</instanceId><instanceState><code>{code}</code>\
                 <name>{name}</name></instanceState></item>"
            )
        })
        .collect();
    (
        200,
        format!(
            "<DescribeInstancesResponse {NS}><requestId>3</requestId><reservationSet><item>\
         <instancesSet>{items}</instancesSet></item></reservationSet></DescribeInstancesResponse>"
        ),
    )
}

fn terminated(id: &str) -> (u16, String) {
    (200, format!(
        "<TerminateInstancesResponse {NS}><requestId>2</requestId><instancesSet><item>\
         <instanceId>{id}</instanceId><currentState><code>32</code><name>shutting-down</name></currentState>\
         </item></instancesSet></TerminateInstancesResponse>"))
}

/// Returns `machine` of `fleet-1`, made for `req-1`, through `clients`.
async fn release_of_request_1(clients: &Clients, machine: &str) {
    let config = AwsConfig::default();
    let ctx = Ctx {
        clients,
        config: &config,
        instance: "aws-test",
    };
    Ec2Fleet
        .release(&ctx, &of_request_1(&[machine.to_owned()]))
        .await
        .unwrap();
}

/// A release of `machines` of `fleet-1`, made for `req-1`, with nothing known of the fleet.
fn of_request_1(machines: &[String]) -> Release<'_> {
    Release {
        resource_id: "fleet-1",
        request_id: Some("req-1"),
        machines,
        staying: None,
    }
}

#[tokio::test]
async fn an_instant_fleet_is_released_without_describe_fleet_instances_which_aws_refuses_for_it() {
    // Half of the fleet: the other instance still runs, so the fleet stays.
    let (http, clients) = replay(vec![
        instant_fleet(),
        terminated("i-1"),
        instances(&[("i-1", 32, "shutting-down"), ("i-2", 16, "running")]),
    ]);
    release_of_request_1(&clients, "i-1").await;
    assert_eq!(
        actions(&http),
        ["DescribeFleets", "TerminateInstances", "DescribeInstances"]
    );
    let by_tag = &http.bodies()[2];
    assert!(
        by_tag.contains("Value.1=req-1"),
        "the request's instances, by its tag: {by_tag}"
    );

    // The last of it (the other one already gone): the fleet is deleted, and its launch
    // template.
    let (http, clients) = replay(vec![
        instant_fleet(),
        terminated("i-2"),
        instances(&[("i-1", 48, "terminated"), ("i-2", 32, "shutting-down")]),
        (200, format!(
            "<DeleteFleetsResponse {NS}><requestId>4</requestId><successfulFleetDeletionSet><item>\
             <fleetId>fleet-1</fleetId></item></successfulFleetDeletionSet></DeleteFleetsResponse>")),
        launch_template_deleted(),
    ]);
    release_of_request_1(&clients, "i-2").await;
    assert_eq!(
        actions(&http),
        [
            "DescribeFleets",
            "TerminateInstances",
            "DescribeInstances",
            "DeleteFleets",
            "DeleteLaunchTemplate"
        ]
    );
}

fn launch_template_deleted() -> (u16, String) {
    (200, format!(
        "<DeleteLaunchTemplateResponse {NS}><requestId>9</requestId><launchTemplate>\
         <launchTemplateName>orb-req-1</launchTemplateName></launchTemplate></DeleteLaunchTemplateResponse>"))
}

/// Runs `release` of an EC2 fleet against the canned `responses`; the calls it made.
async fn released(release: &Release<'_>, responses: Vec<(u16, String)>) -> Replay {
    let (http, clients) = replay(responses);
    let config = AwsConfig::default();
    let ctx = Ctx {
        clients: &clients,
        config: &config,
        instance: "aws-test",
    };
    Ec2Fleet.release(&ctx, release).await.unwrap();
    http
}

fn fleet_deletion(set: &str) -> (u16, String) {
    (
        200,
        format!(
        "<DeleteFleetsResponse {NS}><requestId>8</requestId><{set}><item><fleetId>fleet-1</fleetId>\
         </item></{set}></DeleteFleetsResponse>"),
    )
}

#[tokio::test]
async fn the_last_machines_of_a_fleet_go_with_it_in_one_call_or_are_terminated_when_it_cannot_go() {
    let machines = ["i-1".to_owned(), "i-2".to_owned()];
    let release = Release {
        staying: Some(0),
        ..of_request_1(&machines)
    };
    let http = released(
        &release,
        vec![
            fleet_deletion("successfulFleetDeletionSet"),
            launch_template_deleted(),
        ],
    )
    .await;
    assert_eq!(actions(&http), ["DeleteFleets", "DeleteLaunchTemplate"]);
    assert!(
        http.bodies()[0].contains("TerminateInstances=true"),
        "{:?}",
        http.bodies()
    );
    assert!(
        http.bodies()[1].contains("LaunchTemplateName=orb-req-1"),
        "{:?}",
        http.bodies()
    );

    // A fleet the cloud does not delete: its machines are terminated in one call, as in a
    // return of part of it, and the deletion is tried again.
    let http = released(
        &release,
        vec![
            fleet_deletion("unsuccessfulFleetDeletionSet"),
            instant_fleet(),
            terminated("i-1"),
            fleet_deletion("successfulFleetDeletionSet"),
            launch_template_deleted(),
        ],
    )
    .await;
    assert_eq!(
        actions(&http),
        [
            "DeleteFleets",
            "DescribeFleets",
            "TerminateInstances",
            "DeleteFleets",
            "DeleteLaunchTemplate"
        ]
    );
    assert!(
        http.bodies()[2].contains("InstanceId.2=i-2"),
        "{:?}",
        http.bodies()
    );
}

/// The `Action` of each recorded call.
fn actions(http: &Replay) -> Vec<String> {
    http.bodies().iter().map(|b| action_of(b)).collect()
}

/// The `Action` a query-protocol body names.
fn action_of(body: &str) -> String {
    body.split('&')
        .find_map(|p| p.strip_prefix("Action="))
        .unwrap_or("?")
        .to_owned()
}

#[tokio::test]
async fn a_fleet_that_cannot_be_deleted_stops_the_cancel_before_any_termination() {
    let (http, clients) =
        replay(vec![
            (
                200,
                format!(
            "<DescribeInstancesResponse {NS}><requestId>1</requestId><reservationSet><item>\
             <reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId>\
             <instanceState><code>16</code><name>running</name></instanceState>\
             <tagSet><item><key>orb:request-id</key><value>req-1</value></item></tagSet>\
             </item></instancesSet></item></reservationSet></DescribeInstancesResponse>"),
            ),
            (
                200,
                format!(
            "<DeleteFleetsResponse {NS}><requestId>2</requestId><successfulFleetDeletionSet/>\
             <unsuccessfulFleetDeletionSet><item><fleetId>fleet-1</fleetId><error>\
             <code>fleetNotInDeletableState</code><message>The fleet is modifying.</message>\
             </error></item></unsuccessfulFleetDeletionSet></DeleteFleetsResponse>"),
            ),
        ]);
    let config = AwsConfig::default();
    let ctx = Ctx {
        clients: &clients,
        config: &config,
        instance: "aws-test",
    };
    let request = orb_plugin_api::CancelRequest {
        request_id: "req-1".into(),
        resource_ids: vec!["fleet-1".into()],
        ..Default::default()
    };
    let error = crate::cancel::cancel(&ctx, &request).await.unwrap_err();
    assert!(error.retryable);
    assert!(error.message.contains("fleet-1"), "{}", error.message);
    assert!(
        error.message.contains("fleetNotInDeletableState"),
        "{}",
        error.message
    );
    // The fleet would replace its instances: none was terminated.
    assert_eq!(actions(&http), ["DescribeInstances", "DeleteFleets"]);
}

#[tokio::test]
async fn throttled_calls_are_retried_to_success() {
    let throttled = "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
                     <Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>"
        .to_owned();
    let (http, clients) = replay(vec![
        (503, throttled.clone()),
        (503, throttled),
        (200, format!(
            "<DescribeInstancesResponse {NS}><requestId>3</requestId><reservationSet/></DescribeInstancesResponse>")),
    ]);
    let found = by_ids(&clients.ec2, &["i-1".to_owned()]).await.unwrap();
    assert!(found.is_empty());
    assert_eq!(
        http.bodies().len(),
        3,
        "two throttled attempts, then success"
    );
}

#[tokio::test]
async fn a_call_throttled_to_the_end_is_retried_by_the_sdk_alone() {
    let throttled = "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
                     <Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>"
        .to_owned();
    let (http, clients) = replay(vec![(503, throttled); 6]);
    let error = by_ids(&clients.ec2, &["i-1".to_owned()]).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Throttling);
    // The SDK made its 4 attempts; the host is told not to retry them again.
    assert_eq!(http.bodies().len(), 4);
    assert!(!error.retryable, "{error:?}");
}

#[tokio::test]
async fn authentication_failures_are_not_retried() {
    let (http, clients) = replay(vec![(
        401,
        "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message>\
         </Error></Errors><RequestID>x</RequestID></Response>"
            .to_owned(),
    )]);
    let error = by_ids(&clients.ec2, &["i-1".to_owned()]).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Auth);
    assert!(!error.retryable);
    assert!(error.message.contains("AuthFailure"), "{}", error.message);
    assert_eq!(http.bodies().len(), 1);
}

#[test]
fn spot_interruption_notices_are_reported_with_their_time() {
    let (_, clients) = replay(vec![
        (200, format!(
            "<DescribeInstancesResponse {NS}><requestId>1</requestId><reservationSet><item>\
             <reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId>\
             <instanceState><code>16</code><name>running</name></instanceState>\
             <instanceLifecycle>spot</instanceLifecycle><spotInstanceRequestId>sir-1</spotInstanceRequestId>\
             <tagSet><item><key>orb:request-id</key><value>req-1</value></item></tagSet>\
             </item></instancesSet></item></reservationSet></DescribeInstancesResponse>")),
        (200, format!(
            "<DescribeSpotInstanceRequestsResponse {NS}><requestId>2</requestId><spotInstanceRequestSet><item>\
             <spotInstanceRequestId>sir-1</spotInstanceRequestId><instanceId>i-1</instanceId>\
             <status><code>marked-for-termination</code><updateTime>2026-11-23T10:00:00Z</updateTime></status>\
             </item></spotInstanceRequestSet></DescribeSpotInstanceRequestsResponse>")),
    ]);
    let provider = crate::provider::AwsProvider::with_clients(clients);
    let status = orb_plugin_api::Provider::machine_status(
        &provider,
        orb_plugin_api::StatusQuery {
            request_ids: vec!["req-1".into()],
            ..Default::default()
        },
    )
    .unwrap();
    let machine = &status.machines[0];
    assert_eq!(machine.price_type.as_deref(), Some("spot"));
    assert_eq!(machine.reclaim_notice_at, Some(1_795_428_000));
}

/// Canned answers to the calls a provision makes, by action: no group or launch template
/// exists yet, each create succeeds.
fn provision_answers() -> Vec<(&'static str, String)> {
    let asg = "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"";
    vec![
        ("DescribeAutoScalingGroups", format!(
            "<DescribeAutoScalingGroupsResponse {asg}><DescribeAutoScalingGroupsResult>\
             <AutoScalingGroups/></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>")),
        ("CreateAutoScalingGroup", format!(
            "<CreateAutoScalingGroupResponse {asg}><ResponseMetadata><RequestId>1</RequestId>\
             </ResponseMetadata></CreateAutoScalingGroupResponse>")),
        ("DescribeLaunchTemplates", format!(
            "<DescribeLaunchTemplatesResponse {NS}><requestId>1</requestId><launchTemplates/>\
             </DescribeLaunchTemplatesResponse>")),
        ("CreateLaunchTemplate", format!(
            "<CreateLaunchTemplateResponse {NS}><requestId>1</requestId><launchTemplate>\
             <launchTemplateId>lt-1</launchTemplateId><launchTemplateName>orb-req-1</launchTemplateName>\
             <latestVersionNumber>1</latestVersionNumber></launchTemplate></CreateLaunchTemplateResponse>")),
        ("CreateLaunchTemplateVersion", format!(
            "<CreateLaunchTemplateVersionResponse {NS}><requestId>1</requestId><launchTemplateVersion>\
             <launchTemplateId>lt-9</launchTemplateId><versionNumber>5</versionNumber>\
             </launchTemplateVersion></CreateLaunchTemplateVersionResponse>")),
        ("CreateFleet", format!(
            "<CreateFleetResponse {NS}><requestId>1</requestId><fleetId>fleet-1</fleetId>\
             <fleetInstanceSet><item><instanceIds><item>i-1</item></instanceIds>\
             <instanceType>t3.medium</instanceType></item></fleetInstanceSet></CreateFleetResponse>")),
        ("RequestSpotFleet", format!(
            "<RequestSpotFleetResponse {NS}><requestId>1</requestId>\
             <spotFleetRequestId>sfr-1</spotFleetRequestId></RequestSpotFleetResponse>")),
        ("DescribeInstances", format!(
            "<DescribeInstancesResponse {NS}><requestId>1</requestId><reservationSet><item>\
             <instancesSet><item><instanceId>i-1</instanceId><instanceType>t3.medium</instanceType>\
             <instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>\
             </item></reservationSet></DescribeInstancesResponse>")),
        ("RunInstances", format!(
            "<RunInstancesResponse {NS}><requestId>1</requestId><reservationId>r-1</reservationId>\
             <instancesSet><item><instanceId>i-1</instanceId><instanceType>t3.medium</instanceType>\
             <instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>\
             </RunInstancesResponse>")),
    ]
}

/// Provisions `count` machines of `template` (a Host Factory template's JSON) for `req-1`,
/// every call answered as [`provision_answers`] says; the calls, as recorded.
async fn provisioned(template: serde_json::Value, count: u32) -> Replay {
    let (http, clients) = connect(Replay {
        by_action: Arc::new(provision_answers()),
        ..Default::default()
    });
    let config = AwsConfig::default();
    let ctx = Ctx {
        clients: &clients,
        config: &config,
        instance: "aws-test",
    };
    let template: orb_plugin_api::Template = serde_json::from_value(template).unwrap();
    let plan = crate::context::Plan {
        request_id: "req-1".into(),
        image_id: "ami-1".into(),
        count,
        tags: [("orb:request-id".to_owned(), "req-1".to_owned())].into(),
        template: crate::template::AwsTemplate::parse(&template, &config).unwrap(),
        attempt: 0,
    };
    crate::handlers::provision(&ctx, &plan).await.unwrap();
    http
}

/// Provisions 2 machines of `template` for `req-1`; the parameters of the call named
/// `create`, sorted.
async fn create_call(template: serde_json::Value, create: &str) -> Vec<String> {
    let http = provisioned(template, 2).await;
    let body = http
        .bodies()
        .into_iter()
        .find(|b| action_of(b) == create)
        .unwrap_or_else(|| panic!("no {create} among {:?}", actions(&http)));
    let mut parameters: Vec<String> = body.split('&').map(str::to_owned).collect();
    parameters.sort();
    parameters
}

/// Every handler's create call, as sent: the shapes moto tolerates and AWS refuses cannot
/// hide. A change to any of them must change these on purpose.
#[tokio::test]
async fn each_handlers_create_call_is_what_aws_requires() {
    let base = serde_json::json!({"templateId": "T", "maxNumber": 10, "imageId": "ami-1",
        "subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-1"]});
    let with = |extra: serde_json::Value| {
        let mut t = base.clone();
        t.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        t
    };

    // One type, on demand, in a group: AWS refuses a launch template without an instance type,
    // so the type goes in the group's overrides.
    let group = create_call(
        with(serde_json::json!({"providerApi": "ASG", "vmType": "t3.medium"})),
        "CreateAutoScalingGroup",
    )
    .await;
    assert!(
        !group.iter().any(|p| p.starts_with("LaunchTemplate.")),
        "{group:#?}"
    );

    insta_like(
        &group,
        &[
            "Action=CreateAutoScalingGroup",
            "AutoScalingGroupName=orb-req-1",
            "DesiredCapacity=2",
            "MaxSize=2",
            "MinSize=0",
            "MixedInstancesPolicy.InstancesDistribution.OnDemandBaseCapacity=0",
            "MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity=100",
            "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId=lt-1",
            "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version=%24Latest",
            "MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.InstanceType=t3.medium",
            "MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.WeightedCapacity=1",
            "NewInstancesProtectedFromScaleIn=true",
            "Tags.member.1.Key=orb%3Arequest-id",
            "Tags.member.1.PropagateAtLaunch=true",
            "Tags.member.1.ResourceId=orb-req-1",
            "Tags.member.1.ResourceType=auto-scaling-group",
            "Tags.member.1.Value=req-1",
            "VPCZoneIdentifier=subnet-a%2Csubnet-b",
            "Version=2011-01-01",
        ],
    );

    let one_type = with(serde_json::json!({"vmType": "t3.medium"}));
    insta_like(
        &create_call(of_api(&one_type, "RunInstances"), "RunInstances").await,
        &[
            "Action=RunInstances",
            "ClientToken=req-1-0",
            "ImageId=ami-1",
            "InstanceType=t3.medium",
            "MaxCount=2",
            "MinCount=1",
            "SecurityGroupId.1=sg-1",
            "SubnetId=subnet-a",
            "TagSpecification.1.ResourceType=instance",
            "TagSpecification.1.Tag.1.Key=orb%3Arequest-id",
            "TagSpecification.1.Tag.1.Value=req-1",
            "TagSpecification.2.ResourceType=volume",
            "TagSpecification.2.Tag.1.Key=orb%3Arequest-id",
            "TagSpecification.2.Tag.1.Value=req-1",
            "Version=2016-11-15",
        ],
    );
    insta_like(
        &create_call(of_api(&one_type, "EC2Fleet"), "CreateFleet").await,
        &[
            "Action=CreateFleet",
            "ClientToken=req-1",
            "LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId=lt-1",
            "LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=%24Latest",
            "LaunchTemplateConfigs.1.Overrides.1.InstanceType=t3.medium",
            "LaunchTemplateConfigs.1.Overrides.1.SubnetId=subnet-a",
            "LaunchTemplateConfigs.1.Overrides.1.WeightedCapacity=1.0",
            "LaunchTemplateConfigs.1.Overrides.2.InstanceType=t3.medium",
            "LaunchTemplateConfigs.1.Overrides.2.SubnetId=subnet-b",
            "LaunchTemplateConfigs.1.Overrides.2.WeightedCapacity=1.0",
            "OnDemandOptions.AllocationStrategy=lowest-price",
            "SpotOptions.AllocationStrategy=lowest-price",
            "TagSpecification.1.ResourceType=fleet",
            "TagSpecification.1.Tag.1.Key=orb%3Arequest-id",
            "TagSpecification.1.Tag.1.Value=req-1",
            "TargetCapacitySpecification.DefaultTargetCapacityType=on-demand",
            "TargetCapacitySpecification.OnDemandTargetCapacity=2",
            "TargetCapacitySpecification.SpotTargetCapacity=0",
            "TargetCapacitySpecification.TotalTargetCapacity=2",
            "Type=instant",
            "Version=2016-11-15",
        ],
    );
    let mut spot_fleet = of_api(&one_type, "SpotFleet");
    spot_fleet["fleetRole"] = serde_json::json!("arn:aws:iam::123456789012:role/fleet");
    insta_like(&create_call(spot_fleet, "RequestSpotFleet").await, &[
        "Action=RequestSpotFleet",
        "SpotFleetRequestConfig.AllocationStrategy=lowestPrice",
        "SpotFleetRequestConfig.ClientToken=req-1",
        "SpotFleetRequestConfig.ExcessCapacityTerminationPolicy=noTermination",
        "SpotFleetRequestConfig.IamFleetRole=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Ffleet",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId=lt-1",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=%24Latest",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.1.InstanceType=t3.medium",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.1.SubnetId=subnet-a",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.1.WeightedCapacity=1.0",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.2.InstanceType=t3.medium",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.2.SubnetId=subnet-b",
        "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.2.WeightedCapacity=1.0",
        "SpotFleetRequestConfig.OnDemandTargetCapacity=2",
        "SpotFleetRequestConfig.TagSpecification.1.ResourceType=spot-fleet-request",
        "SpotFleetRequestConfig.TagSpecification.1.Tag.1.Key=orb%3Arequest-id",
        "SpotFleetRequestConfig.TagSpecification.1.Tag.1.Value=req-1",
        "SpotFleetRequestConfig.TargetCapacity=2",
        "SpotFleetRequestConfig.Type=request",
        "Version=2016-11-15",
    ]);
}

/// The Python ORB's template keys orb acts on reach the create calls: a fleet's `Context`, its
/// overrides' priorities, its `ValidUntil`, and an operator's launch template at its version.
#[tokio::test]
async fn orbs_template_features_reach_the_create_calls() {
    let features = serde_json::json!({"templateId": "T", "maxNumber": 10,
        "subnetIds": ["subnet-a"], "fleetType": "request", "context": "c-1",
        "vmTypes": {"t3.medium": 1, "t3.large": 2}, "vmTypesPriority": {"t3.medium": 1, "t3.large": 2},
        "spotFleetRequestExpiry": 30, "launchTemplateId": "lt-9", "launchTemplateVersion": "4",
        "fleetRole": "arn:aws:iam::123456789012:role/fleet"});
    let fleet = create_call(of_api(&features, "EC2Fleet"), "CreateFleet").await;
    let spot_fleet = create_call(of_api(&features, "SpotFleet"), "RequestSpotFleet").await;
    for (call, expected) in [
        (&fleet, "Context=c-1"),
        (&fleet, "LaunchTemplateConfigs.1.Overrides.2.Priority=2.0"),
        (
            &fleet,
            "LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId=lt-9",
        ),
        (
            &fleet,
            "LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=4",
        ),
        (&spot_fleet, "SpotFleetRequestConfig.Context=c-1"),
        (
            &spot_fleet,
            "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.1.Priority=1.0",
        ),
        (
            &spot_fleet,
            "SpotFleetRequestConfig.LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=4",
        ),
    ] {
        assert!(
            call.iter().any(|p| p == expected),
            "{expected} not in {call:#?}"
        );
    }
    for (call, key) in [
        (&fleet, "ValidUntil="),
        (&spot_fleet, "SpotFleetRequestConfig.ValidUntil="),
    ] {
        assert!(
            call.iter().any(|p| p.starts_with(key)),
            "{key} not in {call:#?}"
        );
    }
    let mut group = of_api(&features, "ASG");
    for key in [
        "vmTypesPriority",
        "spotFleetRequestExpiry",
        "fleetType",
        "fleetRole",
    ] {
        group.as_object_mut().unwrap().remove(key);
    }
    let group = create_call(group, "CreateAutoScalingGroup").await;
    assert!(group.iter().any(|p| p == "Context=c-1"), "{group:#?}");
}

/// The on-demand allocation strategy reaches every handler that launches on demand beside
/// spot, not EC2 Fleet alone.
#[tokio::test]
async fn the_on_demand_allocation_strategy_reaches_every_fleet_and_group() {
    let mixed = serde_json::json!({"templateId": "T", "maxNumber": 10, "imageId": "ami-1",
        "subnetIds": ["subnet-a"], "fleetType": "request", "priceType": "heterogeneous",
        "vmTypes": {"t3.medium": 1}, "allocationStrategyOnDemand": "prioritized",
        "fleetRole": "arn:aws:iam::123456789012:role/fleet"});
    let fleet = create_call(of_api(&mixed, "EC2Fleet"), "CreateFleet").await;
    let spot_fleet = create_call(of_api(&mixed, "SpotFleet"), "RequestSpotFleet").await;
    let mut group = of_api(&mixed, "ASG");
    for key in ["fleetType", "fleetRole"] {
        group.as_object_mut().unwrap().remove(key);
    }
    let group = create_call(group, "CreateAutoScalingGroup").await;
    for (call, expected) in [
        (&fleet, "OnDemandOptions.AllocationStrategy=prioritized"),
        (
            &spot_fleet,
            "SpotFleetRequestConfig.OnDemandAllocationStrategy=prioritized",
        ),
        (
            &group,
            "MixedInstancesPolicy.InstancesDistribution.OnDemandAllocationStrategy=prioritized",
        ),
    ] {
        assert!(
            call.iter().any(|p| p == expected),
            "{expected} not in {call:#?}"
        );
    }
}

/// Attribute-based selection reaches each fleet's and group's overrides, instead of types.
#[tokio::test]
async fn instance_requirements_replace_the_instance_types_in_the_overrides() {
    let chosen = serde_json::json!({"templateId": "T", "maxNumber": 10, "imageId": "ami-1",
        "subnetIds": ["subnet-a", "subnet-b"], "fleetRole": "arn:aws:iam::123456789012:role/fleet",
        "abisInstanceRequirements": {"VCpuCount": {"Min": 2, "Max": 4}, "MemoryMiB": {"Min": 4096},
            "CpuManufacturers": ["intel"]}});
    for (api, create, prefix) in [
        (
            "EC2Fleet",
            "CreateFleet",
            "LaunchTemplateConfigs.1.Overrides.2.",
        ),
        (
            "SpotFleet",
            "RequestSpotFleet",
            "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.2.",
        ),
        (
            "ASG",
            "CreateAutoScalingGroup",
            "MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.",
        ),
    ] {
        let call = create_call(of_api(&chosen, api), create).await;
        for expected in [
            "InstanceRequirements.VCpuCount.Min=2",
            "InstanceRequirements.VCpuCount.Max=4",
            "InstanceRequirements.MemoryMiB.Min=4096",
        ] {
            assert!(
                call.iter()
                    .any(|p| p.starts_with(prefix) && p.ends_with(expected)),
                "{api}: {prefix}…{expected} not in {call:#?}"
            );
        }
        assert!(
            !call.iter().any(|p| p.contains("InstanceType=")),
            "{api}: {call:#?}"
        );
    }
}

/// A heterogeneous template's `vmTypesOnDemand` follow its `vmTypes` in each fleet's and
/// group's overrides, with their weights.
#[tokio::test]
async fn on_demand_instance_types_follow_the_others_in_the_overrides() {
    let mixed = serde_json::json!({"templateId": "T", "maxNumber": 10, "imageId": "ami-1",
        "subnetIds": ["subnet-a"], "fleetRole": "arn:aws:iam::123456789012:role/fleet",
        "priceType": "heterogeneous", "percentOnDemand": 50,
        "vmTypes": {"t3.medium": 1}, "vmTypesOnDemand": {"m5.large": 2}});
    for (api, create, first, second, weight) in [
        (
            "EC2Fleet",
            "CreateFleet",
            "LaunchTemplateConfigs.1.Overrides.1.InstanceType=t3.medium",
            "LaunchTemplateConfigs.1.Overrides.2.InstanceType=m5.large",
            "LaunchTemplateConfigs.1.Overrides.2.WeightedCapacity=2.0",
        ),
        (
            "SpotFleet",
            "RequestSpotFleet",
            "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.1.InstanceType=t3.medium",
            "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.2.InstanceType=m5.large",
            "SpotFleetRequestConfig.LaunchTemplateConfigs.1.Overrides.2.WeightedCapacity=2.0",
        ),
        (
            "ASG",
            "CreateAutoScalingGroup",
            "MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.InstanceType=t3.medium",
            "MixedInstancesPolicy.LaunchTemplate.Overrides.member.2.InstanceType=m5.large",
            "MixedInstancesPolicy.LaunchTemplate.Overrides.member.2.WeightedCapacity=2",
        ),
    ] {
        let call = create_call(of_api(&mixed, api), create).await;
        for expected in [first, second, weight] {
            assert!(
                call.iter().any(|p| p == expected),
                "{api}: {expected} not in {call:#?}"
            );
        }
    }
}

/// Settings beside an operator's launch template make a new version of it, from the version
/// the template names, once per request; the fleet launches that version.
#[tokio::test]
async fn settings_beside_a_launch_template_make_a_new_version_of_it() {
    let template = serde_json::json!({"templateId": "T", "maxNumber": 10, "providerApi": "EC2Fleet",
        "subnetIds": ["subnet-a"], "vmType": "t3.medium", "launchTemplateId": "lt-9",
        "launchTemplateVersion": "4", "imageId": "ami-1", "keyName": "ops"});
    let http = provisioned(template, 1).await;
    assert_eq!(
        actions(&http)[..2],
        ["CreateLaunchTemplateVersion", "CreateFleet"]
    );
    let bodies = http.bodies();
    for expected in [
        "LaunchTemplateId=lt-9",
        "SourceVersion=4",
        "ClientToken=req-1-ltv",
        "LaunchTemplateData.KeyName=ops",
        "LaunchTemplateData.ImageId=ami-1",
        "LaunchTemplateData.TagSpecification.1.Tag.1.Key=orb%3Arequest-id",
    ] {
        assert!(
            bodies[0].split('&').any(|p| p == expected),
            "{expected} not in {}",
            bodies[0]
        );
    }
    assert!(
        bodies[1].contains("LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=5"),
        "{}",
        bodies[1]
    );
}

/// `template` served by the handler `api`.
fn of_api(template: &serde_json::Value, api: &str) -> serde_json::Value {
    let mut t = template.clone();
    t["providerApi"] = serde_json::json!(api);
    t
}

/// `actual` is `expected`, parameter by parameter.
fn insta_like(actual: &[String], expected: &[&str]) {
    let actual: Vec<&str> = actual.iter().map(String::as_str).collect();
    assert_eq!(actual, expected);
}

/// An EC2 error answer with `code`.
fn ec2_error(status: u16, code: &str) -> (u16, String) {
    (
        status,
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{code} said</Message></Error>\
             </Errors><RequestID>1</RequestID></Response>"
        ),
    )
}

/// Each handler's dry run sends its calls with `DryRun=true`, makes nothing, and reads AWS's
/// `DryRunOperation` as "would succeed" and anything else as what stops it.
#[tokio::test]
async fn each_handlers_dry_run_runs_its_calls_dry() {
    let base = serde_json::json!({"templateId": "T", "maxNumber": 10, "imageId": "ami-1",
        "subnetIds": ["subnet-a"], "vmType": "t3.medium",
        "fleetRole": "arn:aws:iam::123456789012:role/fleet"});
    let would = || ec2_error(412, "DryRunOperation");
    let no_groups = (
        200,
        "<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\
         <DescribeAutoScalingGroupsResult><AutoScalingGroups/></DescribeAutoScalingGroupsResult>\
         </DescribeAutoScalingGroupsResponse>"
            .to_owned(),
    );
    for (api, answers, dry) in [
        ("RunInstances", vec![would()], vec!["RunInstances"]),
        (
            "EC2Fleet",
            vec![would(), would()],
            vec!["CreateLaunchTemplate", "CreateFleet"],
        ),
        (
            "SpotFleet",
            vec![would(), would()],
            vec!["CreateLaunchTemplate", "RequestSpotFleet"],
        ),
        (
            "ASG",
            vec![would(), no_groups.clone()],
            vec!["CreateLaunchTemplate"],
        ),
    ] {
        let (http, clients) = replay(answers);
        let config = AwsConfig::default();
        let ctx = Ctx {
            clients: &clients,
            config: &config,
            instance: "aws-test",
        };
        let template: orb_plugin_api::Template =
            serde_json::from_value(of_api(&base, api)).unwrap();
        let plan = crate::context::Plan {
            request_id: "req-1".into(),
            image_id: "ami-1".into(),
            count: 2,
            tags: [("orb:request-id".to_owned(), "req-1".to_owned())].into(),
            template: crate::template::AwsTemplate::parse(&template, &config).unwrap(),
            attempt: 0,
        };
        let problems = crate::handlers::check(&ctx, &plan).await;
        assert_eq!(problems, Vec::<String>::new(), "{api}");
        let sent: Vec<String> = http
            .bodies()
            .iter()
            .filter(|b| b.contains("DryRun=true"))
            .map(|b| action_of(b))
            .collect();
        assert_eq!(sent, dry, "{api}: {:?}", actions(&http));
        assert!(
            !actions(&http).iter().any(|a| a == "CreateAutoScalingGroup"),
            "{api}"
        );

        // Not allowed: said, with AWS's code.
        let (_, clients) = replay(vec![
            ec2_error(403, "UnauthorizedOperation"),
            ec2_error(403, "UnauthorizedOperation"),
            no_groups.clone(),
        ]);
        let ctx = Ctx {
            clients: &clients,
            config: &config,
            instance: "aws-test",
        };
        let problems = crate::handlers::check(&ctx, &plan).await;
        assert!(
            problems.iter().any(|p| p.contains("UnauthorizedOperation")),
            "{api}: {problems:?}"
        );
    }
}
