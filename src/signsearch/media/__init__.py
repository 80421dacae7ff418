"""Media the web app shows: browser-playable previews of the source videos and segment addresses in them."""
