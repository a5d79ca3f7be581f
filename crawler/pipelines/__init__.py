"""Item pipelines, in order: normalise (100) → classify (200) → evidence (300) → store (400).

Each is a Scrapy component of its own module; ``crawler/settings.py`` lists them. The store
pipeline writes in batches so that a full crawl keeps most of a bare spider's throughput
(``scamradar bench crawl``).
"""
