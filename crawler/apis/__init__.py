"""Response parsers for the APIs the look-alike and social spiders call, without Scrapy.

Each module turns one API's raw response bytes into typed records, or raises an
:class:`~crawler.apis.errors.ApiError` that says what to do next (retry after a pause, fail the
run, skip until the quota resets). The spiders only wire these to requests; the tests run them
on the recorded fixtures directly.

- :mod:`crawler.apis.crtsh`: crt.sh JSON search (certificate transparency);
- :mod:`crawler.apis.certstream`: CertStream websocket messages;
- :mod:`crawler.apis.vk`: VK API ``newsfeed.search`` / ``wall.get``;
- :mod:`crawler.apis.youtube`: YouTube Data API v3 ``search.list`` / ``videos.list``;
- :mod:`crawler.apis.meta_ads`: Meta Ad Library API ``ads_archive``.
"""
