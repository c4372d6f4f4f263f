"""Drives orb's web console in Debian's headless Chromium through WebDriver (chromedriver and
Python's selenium, installed by scripts/browser), as an operator and as a viewer.

Usage: console-browser.py PLAN
PLAN is JSON: {"base": "http://127.0.0.1:PORT", "operator": TOKEN, "viewer": TOKEN (or JWT),
"screenshots": DIR}. Prints what it saw as one JSON object; any expectation not met exits 1
with why."""
import json
import os
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

PLAN = json.loads(sys.argv[1])
BASE = PLAN["base"]
SHOTS = PLAN["screenshots"]
seen = {"screenshots": []}


def fail(why):
    print(json.dumps(seen))
    sys.exit(f"console: {why}")


def api(method, path, token, body=None):
    """A call to orb's API from outside the browser: a change made elsewhere."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "X-ORB-Scheduler": "default"})
    with urllib.request.urlopen(req, timeout=30) as answer:
        return json.loads(answer.read())


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tempfile.mkdtemp(prefix='orb-console-')}", "--window-size=1280,900"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # Every Content-Security-Policy violation of every page, kept where the test can read it.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""})
    return driver


def wait(driver, what, check, seconds=60):
    try:
        # The pages redraw as changes stream in: an element found may be gone a moment later.
        return WebDriverWait(driver, seconds, poll_frequency=0.1,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda d: check(d))
    except TimeoutException:
        shot(driver, f"timeout-{what.replace(' ', '-')[:40]}")
        fail(f"waited {seconds} s for {what}; the page said: {driver.find_element(By.TAG_NAME, 'body').text[:1500]}")


def shot(driver, name):
    path = os.path.join(SHOTS, f"{name}.png")
    driver.save_screenshot(path)
    seen["screenshots"].append(path)


def text(driver):
    return driver.find_element(By.TAG_NAME, "main").text


def at_widths(driver, name):
    """A screenshot at 1280 and at 390 pixels wide; at both, neither the page nor any of its
    tables scrolls sideways: every cell (an id, a status, an action) is within the window."""
    for width in (1280, 390):
        driver.set_window_size(width, 900)
        time.sleep(0.3)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            fail(f"the {name} page is {overflow} px wider than a {width} px window")
        hidden = driver.execute_script("""
            const out = [];
            for (const box of document.querySelectorAll('.scroll')) {
              if (box.scrollWidth - box.clientWidth > 1) out.push('a table scrolls sideways');
            }
            for (const cell of document.querySelectorAll('main td')) {
              const r = cell.getBoundingClientRect();
              if (r.width > 0 && (r.left < -1 || r.right > window.innerWidth + 1))
                out.push(`"${cell.textContent.trim().slice(0, 40)}" is outside the window`);
            }
            return out;""")
        if hidden:
            fail(f"the {name} page at {width} px: {hidden[:5]}")
        shot(driver, f"{name}-{width}")
    driver.set_window_size(1280, 900)


def go(driver, address, ready):
    driver.get(f"{BASE}/ui/{address}")
    wait(driver, f"{address} to show {ready}", lambda d: ready in text(d))


def sign_in(driver, token):
    driver.get(f"{BASE}/ui/")
    field = wait(driver, "the sign-in form", lambda d: d.find_elements(By.ID, "token"))[0]
    shot(driver, "sign-in")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)
    wait(driver, "the dashboard", lambda d: "Machines over time" in text(d))


def confirm(driver, number=None):
    """Answers the open confirmation dialog by keyboard: the count, then Enter on Confirm."""
    dialog = wait(driver, "the confirmation dialog", lambda d: d.find_element(By.ID, "confirm").is_displayed() and d.find_element(By.ID, "confirm"))
    if number is not None:
        field = dialog.find_element(By.ID, "confirm-number")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(str(number))
    yes = dialog.find_element(By.ID, "confirm-yes")
    driver.execute_script("arguments[0].focus()", yes)
    yes.send_keys(Keys.ENTER)
    wait(driver, "the dialog to close", lambda d: not d.find_element(By.ID, "confirm").is_displayed())


def press(driver, css):
    """Clicks the element `css` finds, finding it again if the page redrew it meanwhile."""
    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.05)
    fail(f"{css} kept being redrawn")


def status_of(driver, request_id):
    """The text of the request's row, read in one step: the page redraws rows as changes come."""
    return driver.execute_script(
        "const row = document.querySelector(`tr[data-request='${arguments[0]}']`);"
        "return row ? row.innerText.replace(/\\s+/g, ' ') : null;", request_id)


def operator_session(driver):
    sign_in(driver, PLAN["operator"])
    if "signed in: operator" not in driver.find_element(By.ID, "who").text:
        fail("the header does not say the operator is signed in")
    if PLAN["operator"] in driver.current_url:
        fail("the token is in the address")
    seen["token_in_session_storage"] = driver.execute_script(
        "return sessionStorage.getItem('orb.token')") == PLAN["operator"]
    seen["token_in_local_storage"] = driver.execute_script(
        "return Object.keys(localStorage).length") > 0
    seen["cookies"] = len(driver.get_cookies())
    wait(driver, "the event stream", lambda d: d.find_element(By.ID, "live").text == "live")
    at_widths(driver, "dashboard")

    # Keyboard: a page shown puts the focus on its heading; from there, Shift+Tab goes back
    # through the header to the skip link, which leads back to the page.
    seen["focused_after_navigation"] = driver.switch_to.active_element.text
    seen["tab_order"] = []
    for _ in range(8):
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        seen["tab_order"].append(driver.switch_to.active_element.text)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    seen["skip_link_leads_to"] = driver.switch_to.active_element.get_attribute("id")
    seen["skip_link_kept_the_page"] = "Machines over time" in text(driver)

    # A request made elsewhere appears on the requests page and completes there, live.
    go(driver, "#/requests", "Requests")
    driver.execute_script("window.__sameDocument = true")
    outside = api("POST", "/api/v1/machines/request", PLAN["operator"], {"template_id": "Small", "count": 2})
    outside_id = outside["request_id"]
    wait(driver, "the request made elsewhere to appear", lambda d: status_of(d, outside_id) is not None)
    seen["appeared_as"] = status_of(driver, outside_id)
    shot(driver, "requests-live-running")
    # A keyboard user on its link keeps the focus there as the page redraws.
    driver.execute_script("document.querySelector(`tr[data-request='${arguments[0]}'] a`).focus()", outside_id)
    wait(driver, "the request to complete", lambda d: " complete " in (status_of(d, outside_id) or ""))
    seen["completed_as"] = status_of(driver, outside_id)
    seen["focus_after_redraws"] = driver.execute_script("return document.activeElement.dataset.key || null")
    if not driver.execute_script("return window.__sameDocument === true"):
        fail("the page reloaded to show the change; it should have updated in place")
    at_widths(driver, "requests")

    # Templates, with their validation; a request made from one, by keyboard.
    go(driver, "#/templates", "Templates served")
    wait(driver, "the validation results", lambda d: "valid" in text(d))
    at_widths(driver, "templates")
    button = driver.find_elements(By.CSS_SELECTOR, "button[data-action='request']")[0]
    driver.execute_script("arguments[0].focus()", button)
    button.send_keys(Keys.ENTER)
    # Escape keeps things as they are.
    wait(driver, "the dialog", lambda d: d.find_element(By.ID, "confirm").is_displayed())
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(driver, "Escape to close the dialog", lambda d: not d.find_element(By.ID, "confirm").is_displayed())
    if "#/requests/" in driver.current_url:
        fail("Escape made a request")
    button.send_keys(Keys.ENTER)
    confirm(driver, 3)
    wait(driver, "the new request's page", lambda d: "#/requests/req-" in d.current_url)
    made = driver.current_url.split("#/requests/")[1]
    seen["requested_from_console"] = made
    wait(driver, "it to complete, live", lambda d: d.find_elements(By.ID, "request-status") and d.find_element(By.ID, "request-status").text == "complete")
    wait(driver, "its machines", lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-action='return']"))
    at_widths(driver, "request")

    # Its machines returned, with a confirmation.
    press(driver, "button[data-action='return']")
    confirm(driver)
    notice = wait(driver, "the return's notice", lambda d: "Returning them: request ret-" in d.find_element(By.ID, "notice").text and d.find_element(By.ID, "notice").text)
    seen["returned_by"] = notice.split("request ")[1].rstrip(".")

    # A running request cancelled, with a confirmation.
    slow = api("POST", "/api/v1/machines/request", PLAN["operator"], {"template_id": "Small", "count": 1})["request_id"]
    go(driver, "#/requests", "Requests")
    wait(driver, "the request to cancel", lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-request='{slow}'] button[data-action='cancel']"))
    press(driver, f"tr[data-request='{slow}'] button[data-action='cancel']")
    confirm(driver)
    wait(driver, "the cancellation's notice", lambda d: f"Request {slow} cancelled." in d.find_element(By.ID, "notice").text)
    seen["cancelled"] = slow

    go(driver, "#/machines", "Machines, newest first")
    at_widths(driver, "machines")
    go(driver, "#/providers", "Provider instances")
    wait(driver, "the providers' versions", lambda d: "mock" in text(d) and "closed" in text(d))
    seen["providers_page"] = text(driver)
    at_widths(driver, "providers")
    seen["operator_violations"] = driver.execute_script("return window.__violations")
    seen["operator_console_errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    seen["urls_with_token"] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes(arguments[0]))",
        PLAN["operator"])

    driver.find_element(By.ID, "sign-out").click()
    wait(driver, "the sign-in form again", lambda d: d.find_elements(By.ID, "token"))
    seen["token_after_sign_out"] = driver.execute_script("return sessionStorage.getItem('orb.token')")


def viewer_session(driver):
    sign_in(driver, PLAN["viewer"])
    seen["viewer_header"] = driver.find_element(By.ID, "who").text
    go(driver, "#/templates", "Templates served")
    wait(driver, "the validation results", lambda d: "valid" in text(d))
    seen["viewer_template_actions"] = len(driver.find_elements(By.CSS_SELECTOR, "[data-action]"))
    running = api("POST", "/api/v1/machines/request", PLAN["operator"], {"template_id": "Small", "count": 1})["request_id"]
    go(driver, "#/requests", "Requests")
    wait(driver, "a running request", lambda d: status_of(d, running) is not None)
    seen["viewer_request_actions"] = len(driver.find_elements(By.CSS_SELECTOR, "[data-action]"))
    go(driver, "#/machines", "Machines, newest first")
    seen["viewer_machine_checkboxes"] = len(driver.find_elements(By.CSS_SELECTOR, "input[type='checkbox']"))
    shot(driver, "viewer-requests")
    # The server refuses a viewer's change, whatever the page shows.
    seen["viewer_request_refused"] = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/v1/machines/request', {method: 'POST', headers: {
            'Authorization': 'Bearer ' + sessionStorage.getItem('orb.token'),
            'Content-Type': 'application/json'}, body: JSON.stringify({template_id: 'Small', count: 1})})
          .then((r) => done(r.status));""")
    seen["viewer_violations"] = driver.execute_script("return window.__violations")


def main():
    os.environ["SE_OFFLINE"] = "true"
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    try:
        operator_session(driver)
        viewer_session(driver)
    finally:
        driver.quit()
    print(json.dumps(seen))


main()
