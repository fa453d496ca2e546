"""What `ps` shows for each process: 'service-api: supervisor', 'service-api: worker <app>'."""


def set_title(title):
    try:
        import setproctitle
    except ImportError:  # a dependency, but a package may leave it out: ps then shows the command line
        return
    setproctitle.setproctitle(title)
