"""The web page in a real browser (Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver: nothing is downloaded): choose an image, see the top-5 as labelled bars, the same
classes the server's /classify answers. Saves a screenshot (README's) to the test outputs."""
import os
import subprocess
import tempfile

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests import servers, testing

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def browser(profile):
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), \
        "Chromium is missing: ./bazelw installs Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=900,640", "--user-data-dir=" + profile):
        options.add_argument(flag)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for drivers online
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def test_choose_an_image_and_see_the_top5():
    server = servers.Server(servers.SERVE, "--model", testing.LITE0, "--workers", "1")
    try:
        expected = httpx.post(server.url + "/v2/models/efficientnet_lite0/classify",
                              content=open(testing.CAT, "rb").read()).json()["top"]
        with tempfile.TemporaryDirectory() as profile:
            driver = browser(profile)
            try:
                driver.get(server.url + "/")
                assert driver.find_element(By.ID, "model").get_attribute("value") == "efficientnet_lite0"
                driver.find_element(By.ID, "file").send_keys(testing.CAT)
                WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#top li")) == 5)
                names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#top .name")]
                shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#top .probability")]
                assert names == [t["name"] for t in expected], names
                assert shown == ["%.1f %%" % (100 * t["probability"]) for t in expected], shown
                assert "answered in" in driver.find_element(By.ID, "status").text
                outputs = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tempfile.gettempdir())
                driver.save_screenshot(os.path.join(outputs, "web_page.png"))

                # A file that is not an image: the page shows the server's error, no bars.
                driver.find_element(By.ID, "file").send_keys(os.path.join(testing.BAD, "notes.txt"))
                WebDriverWait(driver, 30).until(lambda d: "Error" in d.find_element(By.ID, "status").text)
                assert "not a JPEG" in driver.find_element(By.ID, "status").text
                assert not driver.find_element(By.ID, "result").is_displayed()
            finally:
                driver.quit()
    finally:
        assert server.stop() == 0


if __name__ == "__main__":
    testing.main(__file__)
