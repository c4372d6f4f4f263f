"""Prints what a moto server holds of orb's resources, as JSON: fleets, spot fleet requests,
Auto Scaling groups (with the capacity each wants), launch templates and instances by state.
Usage: python moto-inspect.py <endpoint url>"""
import json
import sys

import boto3

session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
ec2 = session.client("ec2", endpoint_url=sys.argv[1])
asg = session.client("autoscaling", endpoint_url=sys.argv[1])
groups = asg.describe_auto_scaling_groups()["AutoScalingGroups"]
instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
print(json.dumps({
    "fleets": {f["FleetId"]: f["FleetState"] for f in ec2.describe_fleets()["Fleets"]},
    "spot_fleets": {c["SpotFleetRequestId"]: c["SpotFleetRequestState"]
                    for c in ec2.describe_spot_fleet_requests()["SpotFleetRequestConfigs"]},
    "groups": [g["AutoScalingGroupName"] for g in groups],
    "group_capacity": {g["AutoScalingGroupName"]: g["DesiredCapacity"] for g in groups},
    "launch_templates": [t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"]],
    "instances": {i["InstanceId"]: i["State"]["Name"] for i in instances},
}))
