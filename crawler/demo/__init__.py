"""``scamradar demo``: bundled sample sources, served locally, crawled, and what was flagged.

``data/`` holds samples written for the project in the real formats (a Telegram channel's two
web-preview pages, an RSS feed, an Atom feed, a Google News RSS search, two landing pages), in
Russian and Kazakh: fake-investment ads impersonating Halyk Bank, Kaspi, Bank CenterCredit,
Kazatomprom and VI Group, "lost funds recovery" ads, and legitimate bank ads and news warnings
that must stay legit. Everything in them is invented.
"""
