"""Item pipelines: normalise (100), then the batch pipeline (300) which runs, a batch at a
time and by default in a worker process, the stages classify → evidence → store.

Each stage is a module of its own (``classify``, ``evidence``, ``store``) with no Scrapy in it;
``batch`` is the Scrapy component that feeds them. Batching and the worker process are what keep
a full crawl near a bare spider's throughput (``scamradar bench crawl``).
"""
