using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Notistream.Gateway.Endpoints;

/// <summary>Reads a whole request body into memory, never more than a limit.</summary>
internal static class RequestBody
{
    /// <summary>
    /// The body's bytes, or null when it is larger than <paramref name="limit"/>: refused from
    /// Content-Length before reading, or as soon as a chunked body passes the limit.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        // Kestrel's own cap (30 MB by default) is set to ours, so it refuses the rest of a larger body too.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var consumed = buffer.Start;
                try
                {
                    if (buffer.Length > limit)
                    {
                        return null;
                    }

                    if (result.IsCompleted)
                    {
                        consumed = buffer.End;
                        return buffer.ToArray();
                    }
                }
                finally
                {
                    reader.AdvanceTo(consumed, buffer.End);
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }
}
