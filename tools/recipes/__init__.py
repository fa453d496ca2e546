"""What the tools know about running OpenStack services from etc/recipes/, shared by tools/interop and tools/bench.

    files      a recipe's operator paths (/etc/..., /var/lib/...) moved under a root
    keystone   keystone's release, its recipe files, the commands it needs before
               its first start, and the password it is bootstrapped with
"""
