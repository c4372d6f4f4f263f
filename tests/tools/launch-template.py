"""An operator's launch template in a moto server, for the AWS tests. Prints JSON.

Usage: python launch-template.py <endpoint> make NAME IMAGE   -> {"id": ...}
       python launch-template.py <endpoint> versions ID       -> {"versions": [...]}
       python launch-template.py <endpoint> instances         -> {id: {"image", "lt"}}"""
import json
import sys

import boto3

ec2 = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                    region_name="us-east-1").client("ec2", endpoint_url=sys.argv[1])
if sys.argv[2] == "make":
    lt = ec2.create_launch_template(LaunchTemplateName=sys.argv[3],
                                    LaunchTemplateData={"ImageId": sys.argv[4]})["LaunchTemplate"]
    print(json.dumps({"id": lt["LaunchTemplateId"]}))
elif sys.argv[2] == "versions":
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=sys.argv[3])
    print(json.dumps({"versions": [v["VersionNumber"] for v in versions["LaunchTemplateVersions"]]}))
else:
    found = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    print(json.dumps({i["InstanceId"]: {
        "image": i.get("ImageId"),
        "lt": {t["Key"]: t["Value"] for t in i.get("Tags", [])}.get("aws:ec2launchtemplate:id"),
    } for i in found}))
