from functools import wraps

from django.http import Http404


def _role_required(check):
    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            # LoginRequiredMiddleware has already sent anonymous users to log in.
            if not check(request.user):
                # 404, not 403: another role's pages are simply not there for this user.
                raise Http404
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator


student_required = _role_required(lambda user: user.is_authenticated and user.is_student)
teacher_required = _role_required(lambda user: user.is_authenticated and user.is_teacher)
