"""Seeds a moto server with what AWS templates need: a VPC with two subnets, a security group,
a key pair, an image (also behind an SSM parameter) and a Spot Fleet role. Prints their ids as
JSON. Usage: python moto-seed.py <endpoint url>"""
import json
import sys

import boto3

endpoint = sys.argv[1]
session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
ec2 = session.client("ec2", endpoint_url=endpoint)
ssm = session.client("ssm", endpoint_url=endpoint)
iam = session.client("iam", endpoint_url=endpoint)

vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{16 * i}.0/20", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
    for i, az in enumerate("ab")
]
sg = ec2.create_security_group(GroupName="orb-test", Description="orb tests", VpcId=vpc)["GroupId"]
ec2.create_key_pair(KeyName="orb-key")
image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"][0]["ImageId"]
ssm.put_parameter(Name="/orb/test/ami", Value=image, Type="String")
role = iam.create_role(RoleName="orb-spot-fleet", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
print(json.dumps({"vpc": vpc, "subnets": subnets, "security_group": sg, "key_name": "orb-key",
                  "image": image, "image_parameter": "/orb/test/ami", "fleet_role": role}))
