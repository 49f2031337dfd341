"""Searchset Bundles with self and next links, for every FHIR search this server answers."""

from __future__ import annotations

from urllib.parse import urlencode

from questionnaires.fhir.resources import validated

DEFAULT_COUNT = 50
MAX_COUNT = 500


def searchset_bundle(
    *,
    resources: list[dict],
    total: int,
    base: str,
    resource_type: str,
    params: list[tuple[str, str]],
    offset: int,
    count: int,
) -> dict:
    """`params` are the search parameters as given (without paging), to rebuild the links."""

    def link(at: int) -> str:
        query = urlencode([*params, ("_count", str(count)), ("_offset", str(at))])
        return f"{base}/{resource_type}?{query}"

    links = [{"relation": "self", "url": link(offset)}]
    if offset + count < total:
        links.append({"relation": "next", "url": link(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": link(max(0, offset - count))})
    return validated(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in resources
            ],
        }
    )


def history_bundle(*, entries: list[tuple[dict, bool]], base: str, resource_type: str) -> dict:
    """A history Bundle of one resource, newest version first; `entries` are (resource, is_first_version)."""
    return validated(
        {
            "resourceType": "Bundle",
            "type": "history",
            "total": len(entries),
            "entry": [
                {
                    "fullUrl": f"{base}/{resource_type}/{resource['id']}",
                    "resource": resource,
                    "request": {
                        "method": "POST" if first else "PUT",
                        "url": resource_type if first else f"{resource_type}/{resource['id']}",
                    },
                    "response": {"status": "201" if first else "200", "etag": f'W/"{resource["meta"]["versionId"]}"'},
                }
                for resource, first in entries
            ],
        }
    )
