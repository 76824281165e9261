using Pxe.Profiles.Spec;

namespace Pxe.Server.Http;

/// <summary>RFC 7807 problem details whose detail says what to fix.</summary>
internal static class Problems
{
    public static IResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    public static IResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "Invalid request", detail);

    public static IResult Conflict(string detail) => Problem(StatusCodes.Status409Conflict, "Conflict", detail);

    public static IResult Invalid(string detail, IEnumerable<object> errors) =>
        Results.Problem(title: "Invalid request", detail: detail, statusCode: StatusCodes.Status422UnprocessableEntity,
            extensions: new Dictionary<string, object?> { ["errors"] = errors.ToList() });

    public static IResult Invalid(IReadOnlyList<(string Field, string Message)> errors) =>
        Invalid(string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")), errors.Select(e => new { field = e.Field, message = e.Message }));

    public static IResult Spec(IReadOnlyList<SpecError> errors) =>
        Invalid(string.Join("; ", errors.Select(e => e.ToString())),
            errors.Select(e => new { file = e.File, line = e.Line, field = e.Field, message = e.Message }));

    public static IResult RenderFailed(string detail) =>
        Problem(StatusCodes.Status500InternalServerError, "Rendering failed", detail);

    public static IResult Problem(int status, string title, string detail) =>
        Results.Problem(title: title, detail: detail, statusCode: status);
}
