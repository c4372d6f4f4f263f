"""Drives orb's MCP server with the official MCP Python SDK's client, as an agent would: over
stdio (`orb mcp serve`, started here) or streamable HTTP (`orb serve`'s `/mcp`, with a bearer
token). Lists the tools, resources and prompts, calls every tool it is given, and follows a
request to its end. Prints what it saw as JSON.

Usage: python mcp-client.py '<JSON: {"command": [...], "env": {...}} or {"url": ..., "token": ...},
       with "calls": [[tool, args], ...] and "follow": template_id or null>'"""
import asyncio
import json
import sys

import contextlib

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

plan = json.loads(sys.argv[1])


def text_of(result):
    """A tool result's text, its structured content (which the SDK has checked against the
    tool's output schema) and whether it is an error."""
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    return {"error": bool(result.is_error), "text": "\n".join(texts),
            "structured": result.structured_content}


@contextlib.asynccontextmanager
async def transport():
    """The streams to the server the plan names."""
    if "url" in plan:
        headers = {"Authorization": f"Bearer {plan['token']}"} if plan.get("token") else {}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as client:
            async with streamable_http_client(plan["url"], http_client=client) as streams:
                yield streams[0], streams[1]
    else:
        server = StdioServerParameters(command=plan["command"][0], args=plan["command"][1:],
                                       env=plan["env"])
        async with stdio_client(server) as (read, write):
            yield read, write


async def main():
    seen = {}
    async with transport() as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            seen["server"] = {"name": initialized.server_info.name,
                              "version": initialized.server_info.version}
            tools = (await session.list_tools()).tools
            seen["tools"] = {t.name: t.input_schema for t in tools}
            seen["outputs"] = {t.name: t.output_schema for t in tools}
            seen["calls"] = []
            for name, args in plan["calls"]:
                try:
                    result = await session.call_tool(name, args)
                    seen["calls"].append([name, text_of(result)])
                except Exception as e:  # the server refused the call itself
                    seen["calls"].append([name, {"error": True, "refused": str(e)}])
            if plan.get("follow"):
                asked = json.loads(text_of(await session.call_tool(
                    "request_machines", {"template_id": plan["follow"], "count": 2}))["text"])
                request_id = asked["requestId"]
                for _ in range(60):
                    status = json.loads(text_of(await session.call_tool(
                        "request_status", {"request_ids": [request_id]}))["text"])
                    if status["requests"][0]["status"] != "running":
                        break
                    await asyncio.sleep(0.5)
                seen["followed"] = status["requests"][0]
                read_back = await session.read_resource(f"orb://requests/{request_id}")
                seen["resource"] = json.loads(read_back.contents[0].text)
            resources = (await session.list_resources()).resources
            seen["resources"] = [str(r.uri) for r in resources]
            templates = await session.read_resource("orb://templates")
            seen["templates"] = json.loads(templates.contents[0].text)
            prompts = (await session.list_prompts()).prompts
            seen["prompts"] = [p.name for p in prompts]
            prompt = await session.get_prompt("provision_and_wait",
                                              {"template_id": "Small", "count": "3"})
            seen["prompt"] = prompt.messages[0].content.text
    print(json.dumps(seen))


asyncio.run(main())
