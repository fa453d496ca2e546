"""What `ps` shows for each process: 'service-api: supervisor', 'service-api: worker <app>'."""


def set_title(title):
    try:
        import setproctitle
    except ImportError:  # optional: without it ps shows the command line
        return
    setproctitle.setproctitle(title)
