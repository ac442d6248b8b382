"""Opening the extension's pages the way people see them, for the e2e tests."""

#: Chrome's popup: 380 px wide here, at most 600 px tall
POPUP_SIZE = {"width": 380, "height": 600}


def open_popup(ext, dark: bool = False):
    """popup.html in a new tab, sized like the real popup, once the pool is listed."""
    page = ext.ctx.new_page()
    page.set_viewport_size(POPUP_SIZE)
    page.emulate_media(color_scheme="dark" if dark else "light")
    page.goto(ext.url("popup.html"))
    page.wait_for_selector("#pool li.server", timeout=10_000)
    return page
